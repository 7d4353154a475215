"""Synthetic people for the resident index's tests.

Every person here is invented. NHS numbers are in the 999 range (never issued) with a valid
modulus 11 check digit; NI numbers use prefixes HMRC's rules allow.
"""

from __future__ import annotations

from datetime import date

from contracts.addresses import UkAddress
from contracts.people import ContactDetails, PersonName
from contracts.residents import PersonDetails

NHS_A = "9991000011"
NHS_B = "9991000038"
NHS_C = "9991000046"
NI_A = "AB100001A"
NI_B = "CE200002B"


def person(
    given: str | None,
    family: str | None,
    born: date | None = None,
    *,
    nhs: str | None = None,
    ni: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    address: UkAddress | None = None,
) -> PersonDetails:
    contact = ContactDetails(email=email, phone=phone) if email or phone else None
    return PersonDetails(
        name=PersonName(given_names=given, family_name=family),
        date_of_birth=born,
        nhs_number=nhs,
        national_insurance_number=ni,
        contact=contact,
        address=address,
    )


def address(number: int, postcode: str = "AB1 2DE", uprn: str | None = None) -> UkAddress:
    return UkAddress(
        lines=(f"{number} Imaginary Street",), town="Exampletown", postcode=postcode, uprn=uprn
    )
