"""The immutable-ID mapping toward Entra: which attribute of an MDM user record becomes the user's
Entra immutable ID (``onPremisesImmutableId``), and picking that value.

Workspace ONE's Directory Services settings name an "Immutable ID Mapping Attribute" (default
objectGUID, case-sensitive custom names such as ``mS-DS-ConsistencyGuid``) and its data type; binary
values reach Entra base64-encoded. A GUID becomes the base64 of its bytes in the little-endian layout
that Active Directory (and .NET ``Guid.ToByteArray``) uses, which is how Entra Connect derives the
immutable ID from objectGUID.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ImmutableIdInvalidError, ImmutableIdMissingError, ValidationError
from .types import JsonObject, UserId
from .vocabulary import AttributeDataType, ImmutableIdAttribute
from .wire import Fields


@dataclass(frozen=True)
class MdmUser:
    """The directory attributes the MDM holds for a user (synced from LDAP/AD or entered locally)."""

    id: UserId
    user_principal_name: str | None = None
    mail: str | None = None
    object_guid: str | None = None
    custom_attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImmutableIdMapping:
    attribute: ImmutableIdAttribute = ImmutableIdAttribute.OBJECT_GUID
    custom_attribute_name: str | None = None
    """Only with ``attribute=custom``; matched case-sensitively, as Workspace ONE does."""
    data_type: AttributeDataType = AttributeDataType.BINARY

    def __post_init__(self) -> None:
        custom = self.attribute is ImmutableIdAttribute.CUSTOM
        if custom and not (self.custom_attribute_name or "").strip():
            raise ValidationError.at("customAttributeName", "is required when the attribute is custom")
        if not custom and self.custom_attribute_name is not None:
            raise ValidationError.at("customAttributeName", "is only allowed when the attribute is custom")
        if self.attribute in _TEXT_ATTRIBUTES and self.data_type is AttributeDataType.BINARY:
            raise ValidationError.at("dataType", f"{self.attribute.value} is a string attribute, not binary")

    @property
    def source_name(self) -> str:
        """The attribute's name as an administrator reads it in the settings."""
        if self.attribute is ImmutableIdAttribute.CUSTOM:
            assert self.custom_attribute_name is not None
            return self.custom_attribute_name
        return self.attribute.value

    @classmethod
    def from_dict(cls, data: Any) -> ImmutableIdMapping:
        fields = Fields(data)
        attribute = fields.enum("attribute", ImmutableIdAttribute, default=ImmutableIdAttribute.OBJECT_GUID)
        default_type = AttributeDataType.STRING if attribute in _TEXT_ATTRIBUTES else AttributeDataType.BINARY
        mapping = cls(
            attribute=attribute,
            custom_attribute_name=fields.optional_text("customAttributeName", max_length=128),
            data_type=fields.enum("dataType", AttributeDataType, default=default_type),
        )
        fields.reject_unknown()
        return mapping

    def to_dict(self) -> JsonObject:
        return {
            "attribute": self.attribute.value,
            "customAttributeName": self.custom_attribute_name,
            "dataType": self.data_type.value,
        }


_TEXT_ATTRIBUTES = frozenset({ImmutableIdAttribute.USER_PRINCIPAL_NAME, ImmutableIdAttribute.MAIL})


def pick_immutable_id(mapping: ImmutableIdMapping, user: MdmUser) -> str:
    """The value to send to Entra as the user's immutable ID; ``ImmutableIdMissingError`` if absent."""
    raw = _raw_value(mapping, user)
    if raw is None or not raw.strip():
        raise ImmutableIdMissingError(user.id, mapping.source_name)
    raw = raw.strip()
    if mapping.data_type is AttributeDataType.STRING:
        return raw
    return _binary_as_base64(raw, user.id, mapping.source_name)


def _raw_value(mapping: ImmutableIdMapping, user: MdmUser) -> str | None:
    if mapping.attribute is ImmutableIdAttribute.CUSTOM:
        return user.custom_attributes.get(mapping.source_name)
    by_attribute = {
        ImmutableIdAttribute.OBJECT_GUID: user.object_guid,
        ImmutableIdAttribute.USER_PRINCIPAL_NAME: user.user_principal_name,
        ImmutableIdAttribute.MAIL: user.mail,
    }
    return by_attribute[mapping.attribute]


def _binary_as_base64(raw: str, user_id: str, attribute: str) -> str:
    try:
        return base64.b64encode(uuid.UUID(raw).bytes_le).decode("ascii")
    except ValueError:
        pass
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error:
        decoded = b""
    if not decoded:
        raise ImmutableIdInvalidError(
            user_id, attribute, f"holds {raw!r}, neither a GUID nor base64, so not a binary value"
        )
    return base64.b64encode(decoded).decode("ascii")
