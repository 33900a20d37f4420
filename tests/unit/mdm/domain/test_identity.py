from __future__ import annotations

import base64
from typing import Any

import pytest

from posturebridge.mdm.domain import (
    AttributeDataType,
    ImmutableIdAttribute,
    ImmutableIdInvalidError,
    ImmutableIdMapping,
    ImmutableIdMissingError,
    MdmUser,
    ValidationError,
    pick_immutable_id,
)

GUID = "00112233-4455-6677-8899-aabbccddeeff"
# Active Directory stores the first three GUID fields little-endian; Entra's immutable ID is the
# base64 of those bytes.
GUID_AS_IMMUTABLE_ID = base64.b64encode(
    bytes([0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
).decode()

USER = MdmUser(
    id="user-1",
    user_principal_name="ada@contoso.example",
    mail="ada.lovelace@contoso.example",
    object_guid=GUID,
    custom_attributes={"mS-DS-ConsistencyGuid": GUID, "employeeId": "E-1815"},
)


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (ImmutableIdMapping(), GUID_AS_IMMUTABLE_ID),
        (
            ImmutableIdMapping(ImmutableIdAttribute.USER_PRINCIPAL_NAME, data_type=AttributeDataType.STRING),
            "ada@contoso.example",
        ),
        (
            ImmutableIdMapping(ImmutableIdAttribute.MAIL, data_type=AttributeDataType.STRING),
            "ada.lovelace@contoso.example",
        ),
        (ImmutableIdMapping(ImmutableIdAttribute.CUSTOM, "mS-DS-ConsistencyGuid"), GUID_AS_IMMUTABLE_ID),
        (
            ImmutableIdMapping(ImmutableIdAttribute.CUSTOM, "employeeId", AttributeDataType.STRING),
            "E-1815",
        ),
        (ImmutableIdMapping(ImmutableIdAttribute.OBJECT_GUID, data_type=AttributeDataType.STRING), GUID),
    ],
)
def test_the_mapped_attribute_becomes_the_immutable_id(mapping: ImmutableIdMapping, expected: str) -> None:
    assert pick_immutable_id(mapping, USER) == expected


def test_a_binary_value_already_in_base64_is_kept() -> None:
    user = MdmUser(id="u", object_guid=GUID_AS_IMMUTABLE_ID)
    assert pick_immutable_id(ImmutableIdMapping(), user) == GUID_AS_IMMUTABLE_ID


@pytest.mark.parametrize(
    ("mapping", "user", "attribute"),
    [
        (ImmutableIdMapping(), MdmUser(id="user-9"), "objectGUID"),
        (
            ImmutableIdMapping(ImmutableIdAttribute.MAIL, data_type=AttributeDataType.STRING),
            MdmUser(id="user-9", mail="  "),
            "mail",
        ),
        (
            ImmutableIdMapping(ImmutableIdAttribute.CUSTOM, "ms-ds-consistencyguid"),
            USER,
            "ms-ds-consistencyguid",
        ),
    ],
)
def test_a_missing_attribute_is_a_clear_error(mapping: ImmutableIdMapping, user: MdmUser, attribute: str) -> None:
    with pytest.raises(ImmutableIdMissingError) as caught:
        pick_immutable_id(mapping, user)
    assert caught.value.attribute == attribute
    assert f"user {user.id!r} has no value for {attribute!r}" in str(caught.value)


def test_a_binary_attribute_that_is_not_binary_is_refused() -> None:
    with pytest.raises(ImmutableIdInvalidError, match="neither a GUID nor base64"):
        pick_immutable_id(ImmutableIdMapping(), MdmUser(id="u", object_guid="not a guid!"))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"attribute": "custom"}, "customAttributeName"),
        ({"attribute": "mail", "customAttributeName": "x"}, "customAttributeName"),
        ({"attribute": "mail", "dataType": "binary"}, "dataType"),
        ({"attribute": "sAMAccountName"}, "attribute"),
    ],
)
def test_an_invalid_mapping_names_the_field(document: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ImmutableIdMapping.from_dict(document)
    assert caught.value.errors[0].path == path


def test_a_mapping_defaults_to_binary_object_guid_and_round_trips() -> None:
    assert ImmutableIdMapping.from_dict({}) == ImmutableIdMapping()
    upn = ImmutableIdMapping.from_dict({"attribute": "userPrincipalName"})
    assert upn.data_type is AttributeDataType.STRING
    custom = ImmutableIdMapping(ImmutableIdAttribute.CUSTOM, "mS-DS-ConsistencyGuid")
    assert ImmutableIdMapping.from_dict(custom.to_dict()) == custom
