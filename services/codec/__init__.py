"""The codec server: decodes encrypted Temporal payloads for authorised ops engineers."""
