"""The fake Salesforce's org: its sObjects and their fields, the errors it answers, describe,
and the checks a record's values go through on create and update."""

from __future__ import annotations

import re
from typing import Any

ORG_ID = "00D000000000001AAA"
USER_ID = "005000000000001AAA"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
NOT_FOUND = "The requested resource does not exist"

# Field name -> (type, required on create, createable, updateable, picklist values)
_F = tuple[str, bool, bool, bool, tuple[str, ...]]
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
OBJECTS: dict[str, dict[str, Any]] = {
    "Task": {
        "prefix": "00T",
        "defaults": {"Status": "Not Started", "Priority": "Normal"},
        "fields": {
            "Subject": ("string", False, True, True, ()),
            "Status": ("picklist", True, True, True, TASK_STATUSES),
            "Priority": ("picklist", True, True, True, ("High", "Normal", "Low")),
            "ActivityDate": ("date", False, True, True, ()),
            "WhoId": ("reference", False, True, True, ("00Q", "003")),
            "WhatId": ("reference", False, True, True, ("001", "006", "701")),
            "OwnerId": ("reference", False, True, True, ("005",)),
            "Description": ("textarea", False, True, True, ()),
            "TaskSubtype": (
                "picklist",
                False,
                True,
                False,
                ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
            ),
            "Type": ("picklist", False, True, True, ("Call", "Email", "Reply", "Meeting", "Other")),
            "CallDurationInSeconds": ("int", False, True, True, ()),
            "CallDisposition": ("string", False, True, True, ()),
            "CallType": ("picklist", False, True, True, ("Internal", "Inbound", "Outbound")),
            "Cadence_Activity_Key__c": ("string", False, True, True, ()),
            "Cadence_Campaign__c": ("string", False, True, True, ()),
            "Cadence_Step__c": ("string", False, True, True, ()),
        },
        "external_ids": ("Cadence_Activity_Key__c",),
    },
    "Lead": {
        "prefix": "00Q",
        "defaults": {"HasOptedOutOfEmail": False, "DoNotCall": False, "IsConverted": False},
        "fields": {
            "FirstName": ("string", False, True, True, ()),
            "LastName": ("string", True, True, True, ()),
            "Company": ("string", True, True, True, ()),
            "Email": ("email", False, True, True, ()),
            "Title": ("string", False, True, True, ()),
            "Phone": ("phone", False, True, True, ()),
            "HasOptedOutOfEmail": ("boolean", False, True, True, ()),
            "DoNotCall": ("boolean", False, True, True, ()),
            "OwnerId": ("reference", False, True, True, ("005",)),
            "IsConverted": ("boolean", False, False, False, ()),
        },
        "external_ids": (),
    },
    "Contact": {
        "prefix": "003",
        "defaults": {"HasOptedOutOfEmail": False, "DoNotCall": False},
        "fields": {
            "FirstName": ("string", False, True, True, ()),
            "LastName": ("string", True, True, True, ()),
            "Email": ("email", False, True, True, ()),
            "Title": ("string", False, True, True, ()),
            "Phone": ("phone", False, True, True, ()),
            "AccountId": ("reference", False, True, True, ("001",)),
            "HasOptedOutOfEmail": ("boolean", False, True, True, ()),
            "DoNotCall": ("boolean", False, True, True, ()),
            "OwnerId": ("reference", False, True, True, ("005",)),
        },
        "external_ids": (),
    },
}
OBJECTS["User"] = {
    "prefix": "005",
    "defaults": {"IsActive": True},
    "fields": {
        "Name": ("string", False, False, False, ()),
        "Username": ("string", True, True, True, ()),
        "Email": ("email", True, True, True, ()),
        "IsActive": ("boolean", False, True, True, ()),
    },
    "external_ids": (),
}
INTEGRATION_USER = {"Id": USER_ID, "Name": "Cadence Integration", "Username": "cadence@org.example",
                    "Email": "cadence@org.example", "IsActive": True}  # fmt: skip
READ_ONLY = ("Id", "CreatedDate", "LastModifiedDate", "IsDeleted")


class SfError(Exception):
    """A request-level failure: HTTP status plus the array-shaped body."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


class RecordError(Exception):
    """A record-level failure, reported in a SaveResult."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []

    def as_status(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_request_error(self) -> SfError:
        """The same failure for a single-record call (HTTP 400, array body)."""
        return SfError(400, self.code, self.message, self.fields)


def not_found() -> SfError:
    """What Salesforce answers for a resource it does not have."""
    return SfError(404, "NOT_FOUND", NOT_FOUND)


def describe(sobject: str) -> dict[str, Any]:
    """``GET sobjects/{type}/describe``: the fields with their type, access and picklist."""
    if sobject not in OBJECTS:
        raise not_found()
    meta = OBJECTS[sobject]
    fields = [
        {
            "name": "Id",
            "type": "id",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "externalId": False,
            "picklistValues": [],
        }
    ]
    for name, (ftype, required, createable, updateable, values) in meta["fields"].items():
        fields.append(
            {
                "name": name,
                "type": ftype,
                "createable": createable,
                "updateable": updateable,
                "nillable": not required,
                "externalId": name in meta["external_ids"],
                "picklistValues": [{"value": v, "label": v, "active": True} for v in values]
                if ftype == "picklist"
                else [],
                "referenceTo": list(values) if ftype == "reference" else [],
            }
        )
    return {
        "name": sobject,
        "keyPrefix": meta["prefix"],
        "createable": True,
        "updateable": True,
        "queryable": True,
        "fields": fields,
    }


def validate(sobject: str, values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The values to store, or RecordError for the first one Salesforce would refuse."""
    meta = OBJECTS[sobject]
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "attributes":
            continue
        if name == "Id":
            raise RecordError(
                "INVALID_FIELD", "The Id field should not be specified in the sobject data."
            )
        spec = meta["fields"].get(name)
        if spec is None:
            raise RecordError(
                "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name]
            )
        ftype, _, createable, updateable, allowed = spec
        if (creating and not createable) or (not creating and not updateable):
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {name}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission "
                "set.",
                [name],
            )
        if value is None:
            clean[name] = None
            continue
        if ftype == "picklist" and value not in allowed:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{name}: bad value for restricted picklist field: {value}",
                [name],
            )
        if ftype == "reference":
            if not isinstance(value, str) or not ID_RE.match(value):
                raise RecordError(
                    "MALFORMED_ID", f"{name} ID: id value of incorrect type: {value}", [name]
                )
            if value[:3] not in allowed:
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{name}: id value of incorrect type: {value}",
                    [name],
                )
        if ftype == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
            raise RecordError(
                "JSON_PARSER_ERROR", f"Cannot deserialize instance of date from {value}", [name]
            )
        if ftype in ("string", "textarea") and not isinstance(value, str):
            value = str(value)
        if ftype == "string" and len(value) > 255:
            raise RecordError(
                "STRING_TOO_LONG", f"{name}: data value too large: {value[:40]}...", [name]
            )
        clean[name] = value
    return clean


def all_fields(sobject: str) -> list[str]:
    """Every field of a record as Salesforce returns it: Id, the object's, the system ones."""
    return ["Id", *OBJECTS[sobject]["fields"], *(f for f in READ_ONLY if f != "Id")]


def check_fields(sobject: str, names: list[str]) -> None:
    """400 INVALID_FIELD for the first name that is not a field of the object."""
    known = set(all_fields(sobject))
    for name in names:
        if name not in known:
            raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'. "
                          "If you are attempting to use a custom field, be sure to append the "
                          "'__c' after the custom field name.")  # fmt: skip


def describe_global(base: str) -> dict[str, Any]:
    """``GET sobjects``: the org's objects (what Describe Global lists of each)."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [
            {"name": name, "label": name, "keyPrefix": meta["prefix"], "createable": True,
             "updateable": True, "deletable": True, "queryable": True, "custom": False,
             "urls": {"sobject": f"{base}/sobjects/{name}",
                      "describe": f"{base}/sobjects/{name}/describe",
                      "rowTemplate": f"{base}/sobjects/{name}/{{ID}}"}}
            for name, meta in OBJECTS.items()
        ],
    }  # fmt: skip
