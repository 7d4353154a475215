"""Partners: Tell Us Once, outbound. Tells organisations outside the council (DWP, HMRC, HM
Passport Office, DVLA...) of a death the informant agreed they should know of, each on its
own Kafka topic (task queue `partners`)."""
