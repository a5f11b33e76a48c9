from __future__ import annotations

import pytest

from rxcheck.facts import licences


def licence_facts(run, html, text: str, url: str = "https://www.shop.co.uk/about"):
    return run(licences.extract, {url: (html(f"<p>{text}</p>"), "about")})


def one_licence(run, html, text: str):
    facts = licence_facts(run, html, text).of("licence")
    assert len(facts) == 1, [f.value for f in facts]
    return facts[0]


@pytest.mark.parametrize(
    ("text", "number", "scheme", "valid"),
    [
        ("GPhC registration number: 1234567", "1234567", "gphc_premises", True),
        ("Registered with the General Pharmaceutical Council, premises no. 1123456.", "1123456", "gphc_premises", True),
        ("GPhC: 123456", "123456", "gphc_unknown", False),
        ("Superintendent pharmacist GPhC 2012345", "2012345", "gphc_pharmacist", True),
        ("Pharmacy technician, GPhC number 5012345", "5012345", "gphc_technician", True),
        ("Premises GPhC number 2012345", "2012345", "gphc_premises", False),  # a pharmacist's number as premises
        ("GPhC No 9123456", "9123456", "gphc_unknown", False),
    ],
)
def test_gphc_numbers(run, html, text, number, scheme, valid):
    fact = one_licence(run, html, text)
    assert (fact.value, fact.get("scheme"), fact.get("valid_format")) == (number, scheme, valid)
    assert fact.get("jurisdiction") == "GB"
    assert fact.get("authority") == "General Pharmaceutical Council"
    assert number in fact.evidence.snippet


@pytest.mark.parametrize(
    "text",
    [
        "GPhC registered since 2015, serving patients across the UK.",
        "Contact the GPhC. Call us on 0800 123 4567 for help.",
        "Our pharmacists are registered with the GPhC. Tel: 020 7946 0958",
        "We follow GPhC guidance published on 12/05/2019.",
        "Take 50 mg once daily.",
    ],
)
def test_no_licence_from_years_phones_dates(run, html, text):
    assert licence_facts(run, html, text).of("licence") == []


def test_us_state_board_licence(run, html):
    fact = one_licence(run, html, "Licensed by the Texas State Board of Pharmacy, license #PH12345.")
    assert fact.get("scheme") == "us_state_board"
    assert fact.get("authority") == "Texas State Board of Pharmacy"
    assert fact.get("valid_format") is True
    assert fact.get("jurisdiction") == "US"


def test_canadian_college(run, html):
    fact = one_licence(run, html, "Accredited by the Ontario College of Pharmacists, accreditation number 312345.")
    assert fact.get("scheme") == "canada_college"
    assert fact.get("valid_format") is True
    assert "Ontario College of Pharmacists" in fact.get("authority")


def test_uk_company_and_vat(run, html):
    facts = licence_facts(run, html, "Company number 12345678. VAT No. GB 123 4567 89.").of("licence")
    by_scheme = {f.get("scheme"): f for f in facts}
    assert by_scheme["company_number"].value == "12345678"
    assert by_scheme["company_number"].get("valid_format") is True
    assert by_scheme["vat"].get("number") == "GB123456789"
    assert by_scheme["vat"].get("valid_format") is True


def test_uk_company_number_wrong_format(run, html):
    fact = one_licence(run, html, "Registered in England and Wales No. 1234")
    assert fact.get("scheme") == "company_number"
    assert fact.get("valid_format") is False


def test_german_impressum(run, html):
    text = (
        "Inhaber: Apotheker Max Müller e.K., Handelsregister: Amtsgericht Köln, HRB 12345, "
        "USt-IdNr.: DE123456789. Zuständige Kammer: Apothekerkammer Nordrhein, Tersteegenstraße 9, 40474 Düsseldorf."
    )
    facts = licence_facts(run, html, text, "https://www.apotheke.de/impressum")
    by_scheme = {f.get("scheme"): f for f in facts.of("licence")}
    assert set(by_scheme) == {"company_number", "vat"}  # the chamber's street number is not a licence number
    assert by_scheme["company_number"].get("number") == "HRB12345"
    assert by_scheme["company_number"].get("jurisdiction") == "DE"
    assert by_scheme["vat"].get("jurisdiction") == "DE"
    [person] = facts.of("person")
    assert (person.value, person.get("role")) == ("Max Müller", "superintendent")
    assert person.get("registration") is None  # a company number is not a personal registration


@pytest.mark.parametrize(("number", "valid"), [("10001234567", True), ("1000123456", False)])
def test_french_rpps(run, html, number, valid):
    fact = one_licence(run, html, f"Pharmacien titulaire : Mme Claire Dupont, RPPS {number}.")
    assert (fact.get("scheme"), fact.get("valid_format"), fact.get("jurisdiction")) == ("fr_rpps", valid, "FR")


def test_dutch_big_kvk_and_vat(run, html):
    text = "Beherend apotheker: Dhr. Jan de Vries, BIG-nummer 12345678901. KvK 12345678. BTW-nummer NL123456789B01."
    facts = licence_facts(run, html, text, "https://www.apotheek.nl/colofon")
    by_scheme = {f.get("scheme"): f for f in facts.of("licence")}
    assert by_scheme["nl_big"].get("valid_format") is True
    assert by_scheme["company_number"].get("jurisdiction") == "NL"
    assert by_scheme["vat"].get("valid_format") is True
    [person] = facts.of("person")
    assert person.get("registration") == "12345678901"
    assert person.get("registration_scheme") == "nl_big"


def test_cqc_and_gmc(run, html):
    facts = licence_facts(run, html, "Dr. Sarah Khan, GMC 7012345. CQC location ID 1-123456789").of("licence")
    by_scheme = {f.get("scheme"): f for f in facts}
    assert by_scheme["gmc"].get("valid_format") is True
    assert by_scheme["cqc"].value == "1-123456789"
    assert by_scheme["cqc"].get("valid_format") is True


def test_superintendent_with_gphc_number(run, html):
    facts = licence_facts(run, html, "Superintendent Pharmacist: Jane Doe (GPhC 2012345).")
    [person] = facts.of("person")
    assert person.value == "Jane Doe"
    assert person.get("role") == "superintendent"
    assert person.get("registration") == person.get("number") == "2012345"
    assert person.get("registration_scheme") == "gphc_pharmacist"
    assert person.get("valid_format") is True


def test_doctor_prescriber(run, html):
    [person] = licence_facts(run, html, "Prescriber: Dr Amir Patel, GMC number 7123456").of("person")
    assert person.get("role") == "prescriber"
    assert person.get("title") == "Dr"
    assert person.get("registration") == "7123456"


@pytest.mark.parametrize(
    "text", ["Pharmacist Approved Treatments", "Our pharmacist team is here to help", "Ask a Doctor Online Today"]
)
def test_headings_are_not_people(run, html, text):
    assert licence_facts(run, html, text).of("person") == []


@pytest.mark.parametrize(
    ("text", "phrase", "has_number", "status"),
    [
        ("We are a fully licensed and accredited online pharmacy.", "fully licensed and accredited online pharmacy",
         False, "asserted"),
        ("Registered pharmacy, GPhC number 1234567.", "Registered pharmacy", True, "asserted"),
        ("All our products are FDA approved!", "FDA approved", False, "asserted"),
        ("Wir sind eine zugelassene Versandapotheke.", "zugelassene Versandapotheke", False, "asserted"),
        ("Pharmacie agréée par l'ARS.", "Pharmacie agréée", False, "asserted"),
        ("Wij zijn een erkende apotheek.", "erkende apotheek", False, "asserted"),
        ("These products are not FDA approved.", "FDA approved", False, "negated"),
    ],
)  # fmt: skip
def test_licence_claims(run, html, text, phrase, has_number, status):
    [claim] = licence_facts(run, html, text).of("licence_claim")
    assert claim.value == phrase
    assert claim.get("has_number") is has_number
    assert claim.get("status") == status


def test_footer_repeated_on_every_page_counts_once(run, html):
    footer = html("<footer><p>GPhC registration number: 1234567</p></footer>")
    pages = {f"https://www.shop.co.uk/{p}": (footer, "other") for p in ("", "a", "b")}
    assert len(run(licences.extract, pages).of("licence")) == 1


def test_street_number_after_a_board_is_not_a_licence(run, html):
    text = "Concerns may be directed to the State of Ohio Board of Pharmacy, 77 South High Street, 17th Floor."
    assert licence_facts(run, html, text).of("licence") == []


def test_us_licences_with_hyphens_and_a_state_name(run, html):
    text = (
        "Ohio Board of Pharmacy Terminal Distributor of Dangerous Drugs license 02-1834567. "
        "Responsible pharmacist: David Okonkwo, RPh (Ohio license 03-3-28417)."
    )
    facts = licence_facts(run, html, text)
    assert {(f.value, f.get("scheme"), f.get("valid_format")) for f in facts.of("licence")} == {
        ("02-1834567", "us_state_board", True),
        ("03-3-28417", "us_state_board", True),
    }
    [person] = facts.of("person")
    assert (person.value, person.get("registration")) == ("David Okonkwo", "03-3-28417")


def test_canadian_college_acronym_and_pharmacy_manager(run, html):
    facts = licence_facts(run, html, "Pharmacy manager: Harpreet Gill, RPh, CPBC Registration No. 31847")
    [licence] = facts.of("licence")
    assert (licence.get("scheme"), licence.get("valid_format")) == ("canada_college", True)
    [person] = facts.of("person")
    assert (person.value, person.get("role"), person.get("registration")) == (
        "Harpreet Gill",
        "superintendent",
        "31847",
    )


def test_a_register_name_inside_a_longer_word_names_nothing(run, html):
    """ "Versandhandelsregister ... VH-NW-05-0472" is the mail-order register, not the Handelsregister."""
    text = "Diese Apotheke ist im Versandhandelsregister des BfArM unter der Kennung VH-NW-05-0472 registriert."
    assert licence_facts(run, html, text, "https://www.apotheke.de/").of("licence") == []


def test_schemes_and_people_are_data(tmp_path):
    """A pack's licences.yaml names its registers and their formats; its lexicon the role words before a name."""
    from sites import build_site

    from rxcheck.engine.loader import load_pack
    from rxcheck.facts import Facts

    reference = tmp_path / "reference"
    (reference / "lexicon").mkdir(parents=True)
    (reference / "licences.yaml").write_text(
        "schemes:\n"
        "  xx_board:\n"
        "    authority: Board\n"
        '    named_authority: "{place} Board"\n'
        "    jurisdiction: XX\n"
        '    names: [{re: "{place}\\\\s+board"}, board of apothecaries]\n'
        "    places: [North Shire, South Shire]\n"
        '    format: "X\\\\d{5}"\n'
    )
    (reference / "lexicon" / "xx.yaml").write_text("role_superintendent: [head apothecary]\n")
    local = load_pack([tmp_path])
    text = "Head apothecary: Anna Smith, North Shire Board X12345. Board of Apothecaries 99999."
    facts = Facts(licences.extract(build_site({"https://shop.example/": (f"<p>{text}</p>", "about")}), local))
    by_number = {f.get("number"): f for f in facts.of("licence")}
    assert (by_number["X12345"].get("scheme"), by_number["X12345"].get("valid_format")) == ("xx_board", True)
    assert by_number["X12345"].get("authority") == "North Shire Board"
    assert (by_number["99999"].get("authority"), by_number["99999"].get("valid_format")) == ("Board", False)
    [person] = facts.of("person")
    assert (person.value, person.get("role"), person.get("registration")) == ("Anna Smith", "superintendent", "X12345")


def test_a_number_belongs_to_the_register_named_nearest_before_it(run, html):
    """ "0723.451.833 (KBO) · BTW BE 0723.451.833": the second number is the VAT number, not a company number."""
    facts = licence_facts(run, html, "Ondernemingsnummer 0723.451.833 (KBO) · BTW BE 0723.451.833").of("licence")
    assert sorted((f.get("scheme"), f.get("number"), f.get("valid_format")) for f in facts) == [
        ("company_number", "0723451833", True),
        ("vat", "BE0723451833", True),
    ]


def test_a_number_opened_by_another_registers_acronym_is_that_registers(run, html):
    """ "General Medical Council · VAT 123456789": the VAT number, whose letters the number reader takes in."""
    facts = licence_facts(run, html, "Registered with the General Medical Council · VAT 123456789").of("licence")
    assert [(f.get("scheme"), f.get("number")) for f in facts] == [("vat", "123456789")]


def test_a_name_followed_by_a_profession_s_letters_is_that_professional(run, html):
    text = (
        "Medical Director: Alicia R. Moreno, MD. Pharmacist-in-charge: Brian K. Osei, RPh. Reviewed by Dana Lee, FNP-C."
    )
    people = {f.value: f.get("role") for f in licence_facts(run, html, text).of("person")}
    assert people == {"Alicia R. Moreno": "doctor", "Brian K. Osei": "superintendent", "Dana Lee": "prescriber"}


def test_capital_letters_after_a_word_are_no_credential(run, html):
    text = "Take Cialis Daily, DO NOT exceed one tablet. Pain Relief DOES work."
    assert licence_facts(run, html, text).of("person") == []
