"""Static data for the fake Marketo: lead fields (describe) and the standard activity types.

Standard activity type ids follow the publicly listed ones (1, 2, 6-13, 24, 46, 47 and the
legacy Marketo Sales Insight ids 39, 40, 41, 45, 48); attribute names mirror what a real
instance reports in ``/rest/v1/activities/types.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LeadField:
    """One lead field as ``describe.json`` reports it."""

    id: int
    name: str
    display_name: str
    data_type: str
    length: int | None = None
    read_only: bool = False
    searchable: bool = False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "displayName": self.display_name}
        out["dataType"] = self.data_type
        if self.length is not None:
            out["length"] = self.length
        out["rest"] = {"name": self.name, "readOnly": self.read_only}
        out["soap"] = {"name": _soap_name(self.name), "readOnly": self.read_only}
        return out

    def describe2(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name,
            "dataType": self.data_type,
            "updateable": not self.read_only,
            "crmManaged": self.name.startswith("sfdc"),
        }
        if self.length is not None:
            out["length"] = self.length
        return out


def _soap_name(rest_name: str) -> str:
    return rest_name[:1].upper() + rest_name[1:]


LEAD_FIELDS: tuple[LeadField, ...] = (
    LeadField(1, "id", "Id", "integer", read_only=True, searchable=True),
    LeadField(2, "company", "Company Name", "string", 255),
    LeadField(3, "site", "Site", "string", 255),
    LeadField(4, "billingStreet", "Billing Address", "text"),
    LeadField(5, "billingCity", "Billing City", "string", 255),
    LeadField(6, "billingState", "Billing State", "string", 255),
    LeadField(7, "billingCountry", "Billing Country", "string", 255),
    LeadField(8, "billingPostalCode", "Billing Postal Code", "string", 255),
    LeadField(9, "website", "Website", "url", 255),
    LeadField(10, "mainPhone", "Main Phone", "phone", 255),
    LeadField(11, "annualRevenue", "Annual Revenue", "currency"),
    LeadField(12, "numberOfEmployees", "Num Employees", "integer"),
    LeadField(13, "industry", "Industry", "string", 255),
    LeadField(14, "sicCode", "SIC Code", "string", 40),
    LeadField(20, "salutation", "Salutation", "string", 255),
    LeadField(21, "firstName", "First Name", "string", 255),
    LeadField(22, "middleName", "Middle Name", "string", 255),
    LeadField(23, "lastName", "Last Name", "string", 255),
    LeadField(24, "email", "Email Address", "email", 255, searchable=True),
    LeadField(25, "phone", "Phone Number", "phone", 255),
    LeadField(26, "mobilePhone", "Mobile Phone Number", "phone", 255),
    LeadField(27, "fax", "Fax Number", "phone", 255),
    LeadField(28, "title", "Job Title", "string", 255),
    LeadField(29, "contactCompany", "Contact Company", "reference"),
    LeadField(30, "dateOfBirth", "Date of Birth", "date"),
    LeadField(31, "address", "Address", "text"),
    LeadField(32, "city", "City", "string", 255),
    LeadField(33, "state", "State", "string", 255),
    LeadField(34, "country", "Country", "string", 255),
    LeadField(35, "postalCode", "Postal Code", "string", 255),
    LeadField(36, "originalSourceType", "Original Source Type", "string", 255, read_only=True),
    LeadField(37, "originalSourceInfo", "Original Source Info", "string", 255, read_only=True),
    LeadField(40, "leadSource", "Lead Source", "string", 255),
    LeadField(41, "leadStatus", "Lead Status", "string", 255),
    LeadField(42, "leadScore", "Lead Score", "integer"),
    LeadField(43, "leadPartitionId", "Lead Partition Id", "integer", searchable=True),
    LeadField(50, "unsubscribed", "Unsubscribed", "boolean"),
    LeadField(51, "unsubscribedReason", "Unsubscribed Reason", "text"),
    LeadField(52, "emailInvalid", "Email Invalid", "boolean"),
    LeadField(53, "emailInvalidCause", "Email Invalid Cause", "string", 255),
    LeadField(54, "marketingSuspended", "Marketing Suspended", "boolean"),
    LeadField(55, "doNotCall", "Do Not Call", "boolean"),
    LeadField(56, "doNotCallReason", "Do Not Call Reason", "string", 255),
    LeadField(60, "sfdcId", "SFDC Id", "string", 18, read_only=True),
    LeadField(61, "sfdcType", "SFDC Type", "string", 255, read_only=True),
    LeadField(62, "sfdcLeadId", "SFDC Lead ID", "string", 18, searchable=True),
    LeadField(63, "sfdcContactId", "SFDC Contact ID", "string", 18, searchable=True),
    LeadField(64, "sfdcAccountId", "SFDC Account ID", "string", 18, searchable=True),
    LeadField(65, "sfdcOpptyId", "SFDC Oppty ID", "string", 18, searchable=True),
    LeadField(66, "sfdcLeadOwnerId", "Lead Owner ID", "string", 18, searchable=True),
    LeadField(70, "linkedInProfileURL", "LinkedIn Profile URL", "url", 255),
    LeadField(71, "linkedInId", "LinkedIn Id", "integer", searchable=True),
    LeadField(72, "facebookId", "Facebook Id", "string", 255, searchable=True),
    LeadField(73, "twitterId", "Twitter Id", "string", 255, searchable=True),
    LeadField(74, "cookies", "Cookies", "string", 255, searchable=True),
    # System managed: Marketo fills them from a reverse lookup of the IP address of the
    # person's first recorded web visit (no API may write them).
    LeadField(75, "anonymousIP", "Anonymous IP", "string", 255, read_only=True),
    LeadField(76, "inferredCompany", "Inferred Company", "string", 255, read_only=True),
    LeadField(77, "inferredCountry", "Inferred Country", "string", 255, read_only=True),
    LeadField(78, "inferredStateRegion", "Inferred State Region", "string", 255, read_only=True),
    LeadField(79, "inferredCity", "Inferred City", "string", 255, read_only=True),
    LeadField(80, "inferredPostalCode", "Inferred Postal Code", "string", 255, read_only=True),
    LeadField(
        81,
        "inferredMetropolitanArea",
        "Inferred Metropolitan Area",
        "string",
        255,
        read_only=True,
    ),
    LeadField(
        82, "inferredPhoneAreaCode", "Inferred Phone Area Code", "string", 255, read_only=True
    ),
    LeadField(90, "createdAt", "Created At", "datetime", read_only=True),
    LeadField(91, "updatedAt", "Updated At", "datetime", read_only=True),
)

FIELDS_BY_NAME: dict[str, LeadField] = {f.name: f for f in LEAD_FIELDS}
FIELDS_BY_ID: dict[int, LeadField] = {f.id: f for f in LEAD_FIELDS}

# Get Leads by Filter Type accepts these standard fields (plus custom string/email/integer ones).
FILTER_TYPES: frozenset[str] = frozenset(
    {
        "cookies",
        "email",
        "facebookId",
        "id",
        "leadPartitionId",
        "linkedInId",
        "sfdcAccountId",
        "sfdcContactId",
        "sfdcLeadId",
        "sfdcLeadOwnerId",
        "sfdcOpptyId",
        "twitterId",
    }
)

# Sync Leads accepts these as lookupField.
LOOKUP_FIELDS: frozenset[str] = frozenset(
    {"id", "email", "cookie", "sfdcAccountId", "sfdcContactId", "sfdcLeadId", "sfdcLeadOwnerId"}
    | {"sfdcOpptyId", "leadPartitionId", "linkedInId", "twitterId", "facebookId"}
)

DEFAULT_LEAD_FIELDS: tuple[str, ...] = (
    "id",
    "email",
    "updatedAt",
    "createdAt",
    "firstName",
    "lastName",
)

SYSTEM_FIELDS: frozenset[str] = frozenset({"id", "createdAt", "updatedAt"})


def _attrs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "dataType": dtype} for name, dtype in pairs]


_IP = ("Client IP Address", "string")
_QUERY = ("Query Parameters", "string")
_REFERRER = ("Referrer URL", "string")
_AGENT = ("User Agent", "string")
_RUN = ("Campaign Run ID", "integer")
_CHOICE = ("Choice Number", "integer")
_STEP = ("Step ID", "integer")
_SALES_EMAIL = (
    ("Sent By", "string"),
    ("Source", "string"),
    ("Template ID", "integer"),
    ("Sales Template URL", "string"),
    ("Sales Campaign URL", "string"),
    ("Sales Template Name", "string"),
    ("Sales Campaign Name", "string"),
    ("Marketo Sales Person ID", "integer"),
)


def _type(
    type_id: int,
    name: str,
    description: str,
    primary: tuple[str, str],
    attributes: list[dict[str, str]],
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": type_id, "name": name, "description": description}
    out["primaryAttribute"] = {"name": primary[0], "dataType": primary[1]}
    out["attributes"] = attributes
    return out


NEW_LEAD = 12
CHANGE_DATA_VALUE = 13

STANDARD_ACTIVITY_TYPES: tuple[dict[str, Any], ...] = (
    _type(
        1,
        "Visit Webpage",
        "User visits a web page",
        ("Webpage ID", "integer"),
        _attrs(_IP, _QUERY, _REFERRER, _AGENT, ("Webpage URL", "string")),
    ),
    _type(
        2,
        "Fill Out Form",
        "User fills out and submits a form on web page",
        ("Webform ID", "integer"),
        _attrs(_IP, ("Form Fields", "text"), _QUERY, _REFERRER, _AGENT, ("Webpage ID", "integer")),
    ),
    _type(
        6,
        "Send Email",
        "Send Marketo Email to a person",
        ("Mailing ID", "integer"),
        _attrs(_RUN, _CHOICE, _STEP),
    ),
    _type(
        7,
        "Email Delivered",
        "Marketo Email is delivered to a person",
        ("Mailing ID", "integer"),
        _attrs(_RUN, _CHOICE, _STEP),
    ),
    _type(
        8,
        "Email Bounced",
        "Marketo Email is bounced for a person",
        ("Mailing ID", "integer"),
        _attrs(
            _RUN,
            ("Category", "string"),
            _CHOICE,
            ("Details", "string"),
            ("Email", "string"),
            _STEP,
            ("Subcategory", "string"),
        ),
    ),
    _type(
        9,
        "Unsubscribe Email",
        "Person unsubscribed from Marketo Emails",
        ("Mailing ID", "integer"),
        _attrs(
            _RUN,
            _IP,
            ("Form Fields", "text"),
            _QUERY,
            _REFERRER,
            _AGENT,
            ("Webform ID", "integer"),
            ("Webpage ID", "integer"),
        ),
    ),
    _type(
        10,
        "Open Email",
        "User opens Marketo Email",
        ("Mailing ID", "integer"),
        _attrs(
            _RUN,
            _CHOICE,
            ("Device", "string"),
            ("Is Mobile Device", "boolean"),
            ("Platform", "string"),
            _STEP,
            _AGENT,
        ),
    ),
    _type(
        11,
        "Click Email",
        "User clicks on a link in a Marketo Email",
        ("Mailing ID", "integer"),
        _attrs(
            _RUN,
            _CHOICE,
            ("Device", "string"),
            ("Is Mobile Device", "boolean"),
            ("Link", "string"),
            ("Platform", "string"),
            _STEP,
            _AGENT,
        ),
    ),
    _type(
        NEW_LEAD,
        "New Lead",
        "New person",
        # The person created: primaryAttributeValueId is the lead id, primaryAttributeValue
        # its name (the docs' examples); swagger-mapi ActivityType requires the attribute.
        ("Lead ID", "integer"),
        _attrs(
            ("API Method Name", "string"),
            ("Created Date", "date"),
            ("Form Name", "string"),
            ("Lead Source", "string"),
            ("List Name", "string"),
            ("Modifying User", "string"),
            ("SFDC Type", "string"),
            ("Source Type", "string"),
        ),
    ),
    _type(
        CHANGE_DATA_VALUE,
        "Change Data Value",
        "Changed attribute value for a person",
        ("Attribute Name", "integer"),
        _attrs(
            ("API Method Name", "string"),
            ("Modifying User", "string"),
            ("New Value", "string"),
            ("Old Value", "string"),
            ("Reason", "string"),
            ("Request Id", "string"),
            ("Source", "string"),
        ),
    ),
    _type(
        24,
        "Add to List",
        "Person added to a list",
        ("List ID", "integer"),
        _attrs(("Source", "string")),
    ),
    _type(
        39,
        "Send Sales Email",
        "Send a sales email to a person",
        ("Email Subject", "string"),
        _attrs(*_SALES_EMAIL),
    ),
    _type(
        40,
        "Open Sales Email",
        "Person opens a sales email",
        ("Email Subject", "string"),
        _attrs(*_SALES_EMAIL),
    ),
    _type(
        41,
        "Click Sales Email",
        "Person clicks a link in a sales email",
        ("Email Subject", "string"),
        _attrs(*_SALES_EMAIL, ("Link", "string")),
    ),
    _type(
        45,
        "Receive Sales Email",
        "Sales person receives an email from a person",
        ("Email Subject", "string"),
        _attrs(("Received By", "string"), ("Source", "string"), ("Person ID (MSC)", "integer")),
    ),
    _type(
        46,
        "Interesting Moment",
        "Interesting moment for a person",
        ("Milestone", "string"),
        _attrs(("Date", "datetime"), ("Description", "string"), ("Source", "string")),
    ),
    _type(
        47,
        "Request Campaign",
        "Person requested a campaign",
        ("Campaign ID", "integer"),
        _attrs(("Source", "string")),
    ),
    _type(
        48,
        "Sales Email Bounced",
        "A sales email to a person bounced",
        ("Email Subject", "string"),
        _attrs(
            ("Details", "string"),
            ("Email", "string"),
            ("Sent By", "string"),
            ("Marketo Sales Person ID", "integer"),
            ("Template ID", "integer"),
        ),
    ),
)

# The native Sales Insight Actions types whose ids Marketo does not publish: seeded under
# fixed ids of our choosing so that read paths (types.json, activities.json) find them by name.
_SALES_CAMPAIGN = (
    ("Sales Campaign Name", "string"),
    ("Sales Campaign URL", "string"),
    ("Sales Campaign ID", "integer"),
    ("Sent By", "string"),
    ("Source", "string"),
)
STANDARD_ACTIVITY_TYPES += (
    _type(531, "Replied to Sales Email", "Person replies to a sales email",
          ("Email Subject", "string"),
          _attrs(("Received By", "string"), ("Source", "string"),
                 ("Marketo Sales Person ID", "integer"))),
    _type(532, "Received Sales Call", "Sales person calls a person",
          ("Sales Call Subject", "string"),
          _attrs(("Sales Call Made By", "string"), ("Sales Call Status", "string"),
                 ("Sales Campaign Name", "string"), ("Sales Campaign URL", "string"),
                 ("Sales Phone Number Called", "string"), ("Source", "string"),
                 ("Sales Call Duration", "integer"), ("Sales Call Recording URL", "string"),
                 ("Sales Call Answered By", "string"), ("Marketo Sales Person ID", "integer"))),
    _type(533, "Add to Sales Campaign", "Person is added to a sales campaign",
          ("Sales Campaign Name", "string"), _attrs(*_SALES_CAMPAIGN)),
    _type(534, "Remove from Sales Campaign", "Person is removed from a sales campaign",
          ("Sales Campaign Name", "string"), _attrs(*_SALES_CAMPAIGN)),
)  # fmt: skip

STANDARD_TYPE_IDS: frozenset[int] = frozenset(t["id"] for t in STANDARD_ACTIVITY_TYPES)

CUSTOM_ATTRIBUTE_TYPES: frozenset[str] = frozenset(
    {"string", "boolean", "integer", "float", "link", "email", "currency", "date", "datetime"}
    | {"phone", "text"}
)
