"""Column headers: how a header is matched to the contract, and which headers name a person.

Headers match the data contract ignoring case, accents, spaces and punctuation (``Patient ID``,
``patient-id`` and ``PATIENT_ID`` are all ``patient_id``). A column whose header looks like a
direct patient identifier (name, initials, record number, birth date, address, phone, e-mail) is
never loaded, whatever the language of the export: English, German, French, Italian, Spanish,
Dutch, Portuguese and the Nordic languages are recognised.
"""

from __future__ import annotations

import re
import unicodedata

#: Headers that are identifiers when they are the whole header (after :func:`header_key`).
_IDENTIFIER_KEYS = frozenset({
    # names and initials
    "name", "names", "patientname", "fullname", "firstname", "lastname", "surname", "givenname",
    "givennames", "familyname", "forename", "forenames", "middlename", "maidenname", "initials",
    "patientinitials", "nom", "nomdefamille", "nomdenaissance", "nomdusage", "nome", "nombre",
    "nombres", "naam", "navn", "namn", "nimi", "initialen", "iniciales", "iniziali",
    # birth
    "dob", "dateofbirth", "birthdate", "birthday", "geburtsdatum", "gebdatum", "gebdat",
    "geburtstag", "datedenaissance", "ddn", "datadinascita", "fechadenacimiento",
    "fechanacimiento", "geboortedatum", "datadenascimento", "fodselsdato", "fodelsedatum",
    "birthyear", "yearofbirth", "geburtsjahr",
    # record and insurance numbers
    "mrn", "medicalrecordnumber", "medicalrecord", "recordnumber", "hospitalnumber",
    "hospitalid", "chartnumber", "casenumber", "nhsnumber", "nhs", "chinumber", "ssn",
    "socialsecuritynumber", "insurancenumber", "passportnumber", "fallnummer",
    "patientennummer", "versichertennummer", "krankenversichertennummer", "svnummer",
    "svnr", "ahvnummer", "ipp", "nip", "nir", "numerosecu", "numerodesecuritesociale",
    "nhc", "historiaclinica", "numerohistoria", "codicefiscale", "dni", "nie", "cpf", "bsn",
    "personnummer", "cpr", "cprnummer", "henkilotunnus", "burgerservicenummer",
    # address and contact
    "address", "streetaddress", "street", "postcode", "postalcode", "zip", "zipcode", "plz",
    "postleitzahl", "adresse", "anschrift", "strasse", "wohnort", "codepostal", "rue",
    "indirizzo", "cap", "direccion", "domicilio", "codigopostal", "adres", "woonplaats",
    "endereco", "morada", "phone", "phonenumber", "telephone", "tel", "telefon", "telefono",
    "telefonnummer", "telephon", "telefoon", "telefoonnummer", "telefone", "mobile", "mobil",
    "handy", "cell", "cellphone", "portable", "cellulare", "movil", "fax", "email", "mail",
    "emailaddress", "courriel", "contact",
})
#: Words that make a header an identifier wherever they stand (``Patient name``, ``Nom patient``).
_IDENTIFIER_WORDS = frozenset({
    "name", "names", "surname", "forename", "initials", "nom", "prenom", "nome", "cognome",
    "nombre", "apellido", "apellidos", "naam", "achternaam", "voornaam", "vorname",
    "nachname", "dob", "mrn", "ssn", "nhs", "phone", "telephone", "tel", "telefon", "telefono",
    "mobile", "handy", "email", "mail", "fax", "address", "adresse", "anschrift", "street",
    "strasse", "zip", "plz", "postcode", "birth", "birthday", "geburt", "naissance", "nascita",
    "nacimiento", "geboorte",
})
#: Fragments that make a header an identifier inside a longer word (``Geburtsdatum_Pat``).
_IDENTIFIER_PARTS = (
    "phone", "email", "address", "adresse", "birth", "surname", "initials", "geburt", "nachname",
    "vorname", "prenom", "naissance", "nascita", "nacimiento", "geboorte", "cognome",
    "apellido", "achternaam", "voornaam", "telefon", "anschrift", "indirizzo", "direccion",
    "postcode", "postalcode", "zipcode", "strasse", "socialsecurity", "insurancenumber",
    "versicherungsnummer", "versichertennummer", "medicalrecord", "hospitalnumber",
    "recordnumber", "patientname",
)


_NOT_KEY = re.compile(r"[^0-9a-z]")


def fold(text: str) -> str:
    """Return ``text`` in lower case without accents (``Prénom`` → ``prenom``, ``Straße`` → ``strasse``).

    Examples
    --------
    >>> fold("Téléphone")
    'telephone'
    """
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def header_key(name: object) -> str:
    """Return the matching key of a column header: lower-case letters and digits only.

    Accents are dropped, so headers typed on any keyboard match.

    Examples
    --------
    >>> header_key("Patient ID")
    'patientid'
    >>> header_key("PATIENT-id")
    'patientid'
    >>> header_key("Prénom")
    'prenom'
    """
    text = str(name)
    return _NOT_KEY.sub("", text.lower() if text.isascii() else fold(text))


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))  # camelCase: "PatientName"
    return [w for w in re.split(r"[^0-9a-z]+", fold(spaced)) if w]


def is_identifier_column(name: object) -> bool:
    """Tell whether a header looks like a direct patient identifier.

    Names, initials, birth dates, record and insurance numbers, addresses, phone numbers and
    e-mail addresses are recognised in English, German, French, Italian, Spanish, Dutch,
    Portuguese and the Nordic languages, typed with or without accents and separators.

    Parameters
    ----------
    name : object
        A column header as read.

    Returns
    -------
    bool

    Examples
    --------
    >>> [is_identifier_column(h) for h in ("Nachname", "Date of birth", "N° téléphone", "site")]
    [True, True, True, False]
    """
    key = header_key(name)
    if key in _IDENTIFIER_KEYS or any(part in key for part in _IDENTIFIER_PARTS):
        return True
    return any(word in _IDENTIFIER_WORDS for word in _words(str(name)))
