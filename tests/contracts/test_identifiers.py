"""Value objects: identifiers, contact details, postcodes and names, by their real rules."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.addresses import UkAddress, UkPostcode
from contracts.identifiers import EmailAddress, NationalInsuranceNumber, NhsNumber, PhoneNumber
from contracts.people import ContactDetails, PersonName

nhs = TypeAdapter(NhsNumber)
ni = TypeAdapter(NationalInsuranceNumber)
email = TypeAdapter(EmailAddress)
phone = TypeAdapter(PhoneNumber)
postcode = TypeAdapter(UkPostcode)


def rule_of(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return exc.value.errors()[0]["type"]


class TestNhsNumber:
    @pytest.mark.parametrize(
        ("raw", "canonical"),
        [
            ("9434765919", "9434765919"),
            ("943 476 5919", "9434765919"),
            ("999-000-0018", "9990000018"),
        ],
    )
    def test_valid_numbers_are_normalised(self, raw: str, canonical: str) -> None:
        assert nhs.validate_python(raw) == canonical

    @pytest.mark.parametrize("raw", ["9434765918", "9990000019", "1000000010"])
    def test_wrong_check_digit_is_rejected(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            nhs.validate_python(raw)
        assert rule_of(exc) == "le_nhs_number_check_digit"

    def test_stem_whose_check_would_be_ten_is_rejected(self) -> None:
        # 0000000060: weighted sum 6*2=12, 11 - 12 % 11 = 10, so no tenth digit is valid.
        for last in "0123456789":
            with pytest.raises(ValidationError):
                nhs.validate_python(f"000000006{last}")

    @pytest.mark.parametrize("raw", ["123", "94347659190", "94347659A9", ""])
    def test_wrong_shape_is_rejected(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            nhs.validate_python(raw)
        assert rule_of(exc) == "le_nhs_number_format"


class TestNationalInsuranceNumber:
    @pytest.mark.parametrize(
        ("raw", "canonical"), [("AB123456C", "AB123456C"), ("ab 12 34 56 c", "AB123456C")]
    )
    def test_valid(self, raw: str, canonical: str) -> None:
        assert ni.validate_python(raw) == canonical

    @pytest.mark.parametrize(
        "raw",
        [
            "DA123456A",  # D never first
            "QQ123456C",  # Q never first (HMRC's own example is deliberately invalid)
            "AO123456A",  # O never second
            "BG123456A",  # unallocated prefixes
            "GB123456A",
            "KN123456A",
            "NK123456A",
            "NT123456A",
            "TN123456A",  # temporary numbers
            "ZZ123456A",
            "AB123456E",  # suffix A-D only
        ],
    )
    def test_hmrc_prefix_and_suffix_rules(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            ni.validate_python(raw)
        assert rule_of(exc) == "le_ni_number_prefix"

    @pytest.mark.parametrize("raw", ["AB12345C", "A1234567C", "AB1234567"])
    def test_wrong_shape(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            ni.validate_python(raw)
        assert rule_of(exc) == "le_ni_number_format"


class TestContact:
    def test_email_valid(self) -> None:
        assert email.validate_python("someone.fictional@example.com") == (
            "someone.fictional@example.com"
        )

    @pytest.mark.parametrize("raw", ["no-at-sign", "a@b", "two@@example.com", "x@example..com"])
    def test_email_invalid(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            email.validate_python(raw)
        assert rule_of(exc) == "le_email"

    @pytest.mark.parametrize(
        ("raw", "canonical"),
        [("020 7946 0123", "+442079460123"), ("+44 113 496 0001", "+441134960001")],
    )
    def test_phone_normalised_to_e164(self, raw: str, canonical: str) -> None:
        assert phone.validate_python(raw) == canonical

    @pytest.mark.parametrize("raw", ["12", "not a phone", "020 7946 01234567", "+44 20"])
    def test_phone_invalid(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            phone.validate_python(raw)
        assert rule_of(exc) == "le_phone"

    def test_contact_needs_one_way(self) -> None:
        with pytest.raises(ValidationError) as exc:
            ContactDetails.model_validate({})
        assert rule_of(exc) == "le_contact_required"


class TestPostcodeAndAddress:
    @pytest.mark.parametrize(
        ("raw", "canonical"),
        [("sw1a2aa", "SW1A 2AA"), ("  m1  1ae ", "M1 1AE"), ("GIR 0AA", "GIR 0AA")],
    )
    def test_postcode_normalised(self, raw: str, canonical: str) -> None:
        assert postcode.validate_python(raw) == canonical

    @pytest.mark.parametrize("raw", ["ZZ99 9ZZ", "AB1 2CD", "12345", "SW1A", "QA1 1AA", ""])
    def test_postcode_invalid(self, raw: str) -> None:
        with pytest.raises(ValidationError) as exc:
            postcode.validate_python(raw)
        assert rule_of(exc) == "le_postcode"

    def test_address_shape(self) -> None:
        address = UkAddress.model_validate(
            {"lines": ["1 Nowhere Street"], "town": "Exampletown", "postcode": "ab1 2de"}
        )
        assert address.postcode == "AB1 2DE"
        with pytest.raises(ValidationError):
            UkAddress.model_validate({"lines": [], "town": "Exampletown", "postcode": "AB1 2DE"})
        with pytest.raises(ValidationError):
            UkAddress.model_validate(
                {"lines": ["x"], "town": "T", "postcode": "AB1 2DE", "uprn": "0123"}
            )


class TestNames:
    @pytest.mark.parametrize(
        "given", ["Ёлка", "テスト", "mc'example", "de la Testa", "محمد", "ß", "Zoë", "ગુજરાતી"]
    )
    def test_any_script_kept_as_written(self, given: str) -> None:
        assert PersonName(given_names=given).given_names == given

    def test_nfc_normalised(self) -> None:
        decomposed = "Zoe\u0308"
        assert PersonName(given_names=decomposed).given_names == "Zoë"

    def test_zero_width_non_joiner_allowed(self) -> None:
        # Persian uses ZWNJ inside words; it must survive validation.
        persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
        assert PersonName(family_name=persian).family_name == persian

    @pytest.mark.parametrize("bad", ["A\x00B", "line\nbreak", "   ", "x" * 201])
    def test_invalid_parts(self, bad: str) -> None:
        with pytest.raises(ValidationError):
            PersonName(given_names=bad)

    def test_one_part_required(self) -> None:
        with pytest.raises(ValidationError) as exc:
            PersonName()
        assert rule_of(exc) == "le_name_required"
