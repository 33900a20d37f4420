"""Enrolment: tokens an administrator hands out, and the device side that trades one for a device
record and a per-device credential. The first evaluation and the feed entries commit with the device."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import EnrollmentStatus, Ownership, Platform, parse_os_version
from posturebridge.mdm.domain.errors import InvalidOsVersionError
from posturebridge.mdm.models import DeviceRow, EnrollmentToken, User
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.compliance import ConfigurationCache, device_snapshot, evaluate_row
from posturebridge.mdm.service.credentials import DEVICE_TOKEN_PREFIX, hash_secret, new_secret
from posturebridge.mdm.service.errors import BadRequest, ErrorDetail, NotFound, Unauthenticated
from posturebridge.mdm.service.feed import FeedKind, NewFeedEntry
from posturebridge.mdm.service.transactions import begin_write

MAX_TOKEN_HOURS = 24 * 365
# Devices with a cellular modem report an IMEI; Macs and Linux machines never do.
IMEI_PLATFORMS = frozenset({Platform.IOS, Platform.IPADOS, Platform.ANDROID, Platform.WINDOWS})


def parse_platform(value: str | None, target: str = "platform") -> Platform:
    for platform in Platform:
        if platform.value == value:
            return platform
    allowed = ", ".join(p.value for p in Platform)
    raise BadRequest(f"{value!r} is not a known platform; use one of: {allowed}", target=target, code="unknownPlatform")


def parse_ownership(value: str | None, target: str = "ownership") -> Ownership:
    for ownership in Ownership:
        if ownership.value == value:
            return ownership
    allowed = ", ".join(o.value for o in Ownership)
    raise BadRequest(f"{value!r} is not a known ownership; use one of: {allowed}", target=target)


@dataclass(frozen=True)
class NewEnrollmentToken:
    row: EnrollmentToken
    token: str


def create_token(
    session: Session,
    organisation_id: str,
    now: dt.datetime,
    *,
    user_id: str | None = None,
    platform: str | None = None,
    ownership: str = Ownership.CORPORATE.value,
    expires_in_hours: int = 72,
    max_uses: int = 1,
) -> NewEnrollmentToken:
    if user_id is not None and _user(session, organisation_id, user_id) is None:
        raise NotFound(f"user {user_id} not found", target="userId", code="userNotFound")
    if platform is not None:
        parse_platform(platform)
    parse_ownership(ownership)
    if not 1 <= expires_in_hours <= MAX_TOKEN_HOURS:
        raise BadRequest(f"must be between 1 and {MAX_TOKEN_HOURS}", target="expiresInHours")
    if not 1 <= max_uses <= 1_000_000:
        raise BadRequest("must be between 1 and 1000000", target="maxUses")
    token = new_secret("pbe_")
    row = EnrollmentToken(
        id=new_id(),
        organisation_id=organisation_id,
        token_hash=hash_secret(token),
        user_id=user_id,
        platform=platform,
        ownership=ownership,
        expires_at=now + dt.timedelta(hours=expires_in_hours),
        max_uses=max_uses,
        use_count=0,
        created_at=now,
    )
    session.add(row)
    return NewEnrollmentToken(row, token)


def list_tokens(session: Session, organisation_id: str) -> list[EnrollmentToken]:
    return list(
        session.scalars(
            select(EnrollmentToken)
            .where(EnrollmentToken.organisation_id == organisation_id)
            .order_by(EnrollmentToken.created_at)
        )
    )


@dataclass(frozen=True)
class EnrollmentRequest:
    enrollment_token: str
    platform: str
    model: str
    os_version: str | None = None
    udid: str | None = None
    serial_number: str | None = None
    imei: str | None = None
    ownership: str | None = None
    user_name: str | None = None


@dataclass(frozen=True)
class Enrolled:
    device: DeviceRow
    device_token: str


def enroll(session: Session, request: EnrollmentRequest, now: dt.datetime, cache: ConfigurationCache) -> Enrolled:
    """A new device record, its credential (shown once), its first evaluation and feed entries."""
    platform, ownership_override, os_version = _validate(request)
    begin_write(session)
    token = session.scalar(
        select(EnrollmentToken).where(EnrollmentToken.token_hash == hash_secret(request.enrollment_token))
    )
    if token is None:
        raise Unauthenticated(
            "the enrolment token is not known", code="invalidEnrollmentToken", target="enrollmentToken"
        )
    if token.expires_at <= now:
        raise Unauthenticated(
            "the enrolment token has expired", code="invalidEnrollmentToken", target="enrollmentToken"
        )
    if token.platform is not None and token.platform != platform.value:
        raise BadRequest(
            f"this enrolment token is for {token.platform} devices, not {platform.value}", target="platform"
        )
    claimed = session.execute(
        update(EnrollmentToken)
        .where(EnrollmentToken.id == token.id, EnrollmentToken.use_count < EnrollmentToken.max_uses)
        .values(use_count=EnrollmentToken.use_count + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        raise Unauthenticated(
            "the enrolment token was used as often as allowed", code="invalidEnrollmentToken", target="enrollmentToken"
        )
    user_id = token.user_id
    if request.user_name is not None:
        user = session.scalar(
            select(User).where(User.organisation_id == token.organisation_id, User.user_name == request.user_name)
        )
        if user is None:
            raise NotFound(
                f"no user {request.user_name!r} in this organisation", target="userName", code="userNotFound"
            )
        if user_id is not None and user.id != user_id:
            raise BadRequest("this enrolment token belongs to another user", target="userName")
        user_id = user.id
    device_token = new_secret(DEVICE_TOKEN_PREFIX)
    row = DeviceRow(
        id=new_id(),
        organisation_id=token.organisation_id,
        platform=platform.value,
        ownership=(ownership_override or Ownership(token.ownership)).value,
        enrollment_status=EnrollmentStatus.ENROLLED.value,
        enrolled_at=now,
        status_changed_at=now,
        last_seen_at=now,
        model=request.model.strip(),
        os_version=os_version,
        udid=request.udid,
        serial_number=request.serial_number,
        imei=request.imei,
        user_id=user_id,
        credential_hash=hash_secret(device_token),
        entra_device_id=None,
        compliance_state="notEvaluated",
        is_compliant=False,
        last_evaluated_at=now,
        next_evaluation_at=None,
        evaluation={},
        prior_evaluation={},
        sample_cursor=None,
        latest_sample=None,
    )
    session.add(row)
    session.flush()
    _, entries = evaluate_row(session, row, cache.get(session, row.organisation_id), now, initial=True)
    status_entry = NewFeedEntry(
        FeedKind.ENROLLMENT_STATUS, row.id, None, EnrollmentStatus.ENROLLED.value, {"device": device_snapshot(row)}
    )
    feed.append(session, row.organisation_id, [status_entry, *entries], now)
    return Enrolled(row, device_token)


def _validate(request: EnrollmentRequest) -> tuple[Platform, Ownership | None, str | None]:
    details: list[ErrorDetail] = []
    platform: Platform | None = None
    ownership: Ownership | None = None
    os_version: str | None = None
    try:
        platform = parse_platform(request.platform)
    except BadRequest as error:
        details.append(ErrorDetail(error.code, error.message, error.target))
    if request.ownership is not None:
        try:
            ownership = parse_ownership(request.ownership)
        except BadRequest as error:
            details.append(ErrorDetail("invalidOwnership", error.message, error.target))
    if not request.model.strip() or len(request.model) > 128:
        details.append(ErrorDetail("invalidValue", "the model must be 1 to 128 characters", "model"))
    if platform is not None and request.os_version is not None:
        try:
            os_version = parse_os_version(platform, request.os_version).text
        except InvalidOsVersionError as error:
            details.append(ErrorDetail("invalidOsVersion", str(error), "osVersion"))
    for name, value in (("udid", request.udid), ("serialNumber", request.serial_number)):
        if value is not None and not (0 < len(value.strip()) <= 128):
            details.append(ErrorDetail("invalidValue", f"{name} must be 1 to 128 characters", name))
    if request.imei is not None:
        if platform is not None and platform not in IMEI_PLATFORMS:
            details.append(ErrorDetail("invalidValue", f"{platform.display_name} devices have no IMEI", "imei"))
        elif not is_valid_imei(request.imei):
            details.append(ErrorDetail("invalidValue", "an IMEI is 15 digits with a valid Luhn check digit", "imei"))
    if details:
        first = details[0]
        raise BadRequest(first.message, target=first.target, code=first.code, details=details)
    assert platform is not None
    return platform, ownership, os_version


def is_valid_imei(value: str) -> bool:
    if len(value) != 15 or not value.isdigit():
        return False
    total = 0
    for index, char in enumerate(value):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return total % 10 == 0


def _user(session: Session, organisation_id: str, user_id: str) -> User | None:
    return session.scalar(select(User).where(User.id == user_id, User.organisation_id == organisation_id))
