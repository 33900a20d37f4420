"""Many simulated devices in one process: an asyncio fleet against a running MDM.

Each device enrols with the fleet's enrolment token, then sends a posture sample every `interval`
seconds (the first one at a random offset, so the fleet's load is even) and at once when its posture
changes. With `churn` changes per device per minute (a Poisson rate) a device flips one posture
property (passcode off/on, OS version outdated/current), so compliance changes and the MDM's feed
carries transitions. All devices share one `AsyncMdmClient` (one connection pool); `concurrency`
bounds the requests in flight.

Errors are counted by kind, never raised out of a device's loop: a simulation reports, it does not
crash. Only a first enrolment that cannot work at all (the MDM unreachable, the token refused) stops
the run, as a `FleetError` with one line. The wire calls are the MDM client's (`posturebridge.mdm.calls`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import secrets
import ssl
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from posturebridge.common.errors import CommandError
from posturebridge.device.agent import (
    AgentEndpoints,
    AgentError,
    BrokerApplication,
    DeviceAgent,
    DevicePlatform,
    platform_defaults,
    posture_sample,
)
from posturebridge.device.deeplinks import DeepLinkError
from posturebridge.device.state import AgentState
from posturebridge.mdm.async_client import AsyncMdmClient
from posturebridge.mdm.calls import check_in as check_in_call
from posturebridge.mdm.calls import enroll as enroll_call
from posturebridge.mdm.client import MdmApiError

Clock = Callable[[], dt.datetime]
DEFAULT_MIX = "ios=40,android=30,macos=15,windows=15"
LATENCY_RESERVOIR = 100_000
STOP_GRACE_S = 5.0
REGISTRATIONS_IN_FLIGHT = 2

# The names `--platform-mix` accepts, lower case, for the MDM's platform spellings.
PLATFORM_NAMES: Mapping[str, DevicePlatform] = {platform.value.lower(): platform for platform in DevicePlatform}
# An OS version each platform's compliance policies commonly refuse (an outdated release, inferred).
_OUTDATED_OS: Mapping[DevicePlatform, str] = {
    DevicePlatform.IOS: "16.7.8",
    DevicePlatform.IPADOS: "16.7.8",
    DevicePlatform.ANDROID: "12",
    DevicePlatform.MACOS: "13.6.7",
    DevicePlatform.WINDOWS: "10.0.19045.4291",
    DevicePlatform.LINUX: "20.04",
}
# What each platform reports besides its OS version; only fields the MDM accepts from that platform.
_BASE_POSTURE: Mapping[DevicePlatform, Mapping[str, bool]] = {
    DevicePlatform.IOS: {"passcodePresent": True, "storageEncrypted": True, "compromised": False},
    DevicePlatform.IPADOS: {"passcodePresent": True, "storageEncrypted": True, "compromised": False},
    DevicePlatform.ANDROID: {"passcodePresent": True, "storageEncrypted": True, "compromised": False},
    DevicePlatform.MACOS: {"passcodePresent": True, "storageEncrypted": True, "fileVaultEnabled": True},
    DevicePlatform.WINDOWS: {"passcodePresent": True, "bitLockerEnabled": True, "firewallEnabled": True},
    DevicePlatform.LINUX: {"passcodePresent": True, "storageEncrypted": True},
}


class FleetError(CommandError):
    """The fleet cannot run at all (bad options, the MDM unreachable, the enrolment token refused)."""


def parse_platform_mix(text: str) -> dict[DevicePlatform, float]:
    """``ios=40,android=30,…`` as weights per platform; names as the MDM spells them, any case."""
    mix: dict[DevicePlatform, float] = {}
    for item in (part.strip() for part in text.split(",")):
        name, sep, value = item.partition("=")
        platform = PLATFORM_NAMES.get(name.strip().lower())
        if platform is None or not sep:
            known = ", ".join(sorted(PLATFORM_NAMES))
            raise FleetError(f"--platform-mix: {item!r} is not PLATFORM=WEIGHT with a platform among {known}")
        try:
            weight = float(value)
        except ValueError:
            raise FleetError(f"--platform-mix: the weight of {name} is not a number: {value!r}") from None
        if weight < 0 or not math.isfinite(weight):
            raise FleetError(f"--platform-mix: the weight of {name} must be zero or more")
        mix[platform] = mix.get(platform, 0.0) + weight
    if sum(mix.values()) <= 0:
        raise FleetError("--platform-mix: the weights add up to zero")
    return mix


def allocate(devices: int, mix: Mapping[DevicePlatform, float]) -> list[DevicePlatform]:
    """`devices` platforms in the mix's proportions (largest remainder), interleaved."""
    total = sum(mix.values())
    shares = {platform: devices * weight / total for platform, weight in mix.items()}
    counts = {platform: int(share) for platform, share in shares.items()}
    by_remainder = sorted(shares, key=lambda platform: shares[platform] - counts[platform], reverse=True)
    for platform in by_remainder[: devices - sum(counts.values())]:
        counts[platform] += 1
    # Round-robin so the first devices already show the mix (and a short run has every platform).
    order: list[DevicePlatform] = []
    left = dict(counts)
    while len(order) < devices:
        for platform in mix:
            if left[platform] > 0:
                order.append(platform)
                left[platform] -= 1
    return order


@dataclass(frozen=True)
class RegistrationTarget:
    """What a device needs to register in the directory through the broker: the directory, the tenant's broker
    application, and the Entra account of each MDM user."""

    directory_url: str
    tenant_id: str
    broker: BrokerApplication
    accounts: Mapping[str, tuple[str, str]]
    """MDM user name -> (userPrincipalName, password)."""
    ca_bundle: str | None = None


@dataclass(frozen=True)
class FleetConfig:
    devices: int
    mix: Mapping[DevicePlatform, float]
    enrollment_token: str
    churn: float = 0.0
    """Posture changes per device per minute."""
    interval: float = 10.0
    """Seconds between one device's scheduled samples (0: back to back, for benchmarks)."""
    duration: float | None = None
    """Seconds of simulation; None runs until `Fleet.stop`."""
    concurrency: int = 64
    user_names: Sequence[str] = ()
    """MDM users the devices are enrolled for, in turn; none: devices without a user."""
    seed: int | None = None
    register_fraction: float = 0.0
    """The share of devices that also register in the directory (the broker flow), after enrolling."""
    registration: RegistrationTarget | None = None

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise FleetError("--devices must be at least 1")
        if self.churn < 0:
            raise FleetError("--churn must be zero or more (changes per device per minute)")
        if self.interval < 0:
            raise FleetError("--interval must be zero or more seconds")
        if self.duration is not None and self.duration <= 0:
            raise FleetError("--duration must be more than zero seconds")
        if self.concurrency < 1:
            raise FleetError("--concurrency must be at least 1")
        if not 0 <= self.register_fraction <= 1:
            raise FleetError("--register-fraction must be between 0 and 1")
        if self.register_fraction and self.registration is None:
            raise FleetError("--register-fraction needs the directory and the tenant's broker (demo.json)")
        if self.register_fraction and not self.user_names:
            raise FleetError("--register-fraction needs devices enrolled for users (demo.json's MDM users)")


@dataclass
class SimulatedDevice:
    index: int
    platform: DevicePlatform
    model: str
    posture: dict[str, Any]
    user_name: str | None
    device_id: str | None = None
    device_token: str | None = field(default=None, repr=False)
    sequence: int = 0
    compliance_state: str | None = None
    transitions: int = 0
    """Compliance state changes this device saw; its enrolment counts as one, as the MDM's feed records it."""
    entra_device_id: str | None = None

    def observe(self, state: str) -> None:
        if state != self.compliance_state:
            self.transitions += 1
        self.compliance_state = state


@dataclass(frozen=True)
class FleetSummary:
    """What the fleet did so far; the CLI renders it live and at the end."""

    devices: int
    enrolled: int
    registered: int
    samples: int
    accepted: int
    flips: int
    elapsed_s: float
    compliance: dict[str, int]
    errors: dict[str, int]
    latency_p50_ms: float | None
    latency_p99_ms: float | None

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "enrolled": self.enrolled,
            "registered": self.registered,
            "samples": self.samples,
            "accepted": self.accepted,
            "flips": self.flips,
            "elapsedSeconds": round(self.elapsed_s, 3),
            "samplesPerSecond": round(self.samples_per_second, 1),
            "checkInLatencyMs": {"p50": self.latency_p50_ms, "p99": self.latency_p99_ms},
            "compliance": self.compliance,
            "errors": self.errors,
        }


def percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def error_kind(error: Exception) -> str:
    """A short, stable name for an error, to count errors by kind."""
    if isinstance(error, MdmApiError):
        return error.code if error.status_code == 0 else f"{error.code} (HTTP {error.status_code})"
    if isinstance(error, ValidationError):
        return "invalid answer"
    return type(error).__name__


class Fleet:
    """The simulated devices and their counters. One run per instance."""

    def __init__(self, config: FleetConfig, client: AsyncMdmClient, *, clock: Clock) -> None:
        self.config = config
        self._client = client
        self._clock = clock
        self._random = random.Random(config.seed)
        self._gate = asyncio.Semaphore(config.concurrency)
        self._registrations = asyncio.Semaphore(REGISTRATIONS_IN_FLIGHT)
        self._stop = asyncio.Event()
        self.devices = [
            self._new_device(index, platform) for index, platform in enumerate(allocate(config.devices, config.mix))
        ]
        self.samples = 0
        self.accepted = 0
        self.flips = 0
        self.errors: Counter[str] = Counter()
        self._latencies: list[float] = []
        self._latencies_seen = 0
        self._started = time.monotonic()
        self._ended: float | None = None

    def _new_device(self, index: int, platform: DevicePlatform) -> SimulatedDevice:
        model, os_version = platform_defaults(platform)
        users = self.config.user_names
        return SimulatedDevice(
            index=index,
            platform=platform,
            model=model,
            posture={"osVersion": os_version, **_BASE_POSTURE[platform]},
            user_name=users[index % len(users)] if users else None,
        )

    def stop(self) -> None:
        """Ask every device to finish its request in flight and stop."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> FleetSummary:
        """Enrol and simulate until the duration is over or `stop` is called; then the summary."""
        self._started = time.monotonic()
        first = self.devices[0]
        # One device first: a fleet whose MDM is unreachable or whose token is refused stops with one line.
        try:
            await self._enrol(first)
        except MdmApiError as error:
            if error.status_code == 0:
                raise FleetError(error.message) from None
            if error.status_code in (401, 403) or error.code == "invalidEnrollmentToken":
                raise FleetError(f"the MDM refused the enrolment token: {error.message}") from None
            raise FleetError(f"the MDM refused the first enrolment: {error.message} [{error.code}]") from None
        tasks = [asyncio.create_task(self._live(device, enrolled=device is first)) for device in self.devices]
        timer = asyncio.create_task(self._stop_after(self.config.duration))
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            if self.stopping:
                # Requests in flight finish (so the MDM and the summary agree); a stuck one is cut off.
                _, late = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
                for task in late:
                    task.cancel()
            else:
                await asyncio.wait(tasks)
        finally:
            helpers: list[asyncio.Task[Any]] = [*tasks, timer, stopped]
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self._ended = time.monotonic()
        return self.summary()

    async def _stop_after(self, duration: float | None) -> None:
        if duration is not None:
            await asyncio.sleep(duration)
            self.stop()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the fleet stops first; True when it should go on."""
        if seconds <= 0:
            return not self.stopping
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False

    async def _live(self, device: SimulatedDevice, *, enrolled: bool) -> None:
        interval = self.config.interval
        if not enrolled:
            # Enrolments start together; the concurrency gate spreads them.
            try:
                await self._enrol(device)
            except Exception as error:
                self.errors[f"enrol: {error_kind(error)}"] += 1
                return
        if self.config.register_fraction and self._random.random() < self.config.register_fraction:
            await self._register(device)
        if not await self._sleep(self._random.uniform(0, interval)):
            return
        tick_churn = 1.0 - math.exp(-self.config.churn * interval / 60.0) if interval > 0 else 0.0
        last = time.monotonic()
        while not self.stopping:
            if self.config.churn > 0:
                now = time.monotonic()
                chance = tick_churn if interval > 0 else 1.0 - math.exp(-self.config.churn * (now - last) / 60.0)
                last = now
                if self._random.random() < chance:
                    self._flip(device)
            await self._check_in(device)
            if not await self._sleep(interval):
                return

    def _flip(self, device: SimulatedDevice) -> None:
        if self._random.random() < 0.5:
            device.posture["passcodePresent"] = not device.posture.get("passcodePresent", True)
        else:
            _, current = platform_defaults(device.platform)
            outdated = _OUTDATED_OS[device.platform]
            device.posture["osVersion"] = current if device.posture["osVersion"] == outdated else outdated
        self.flips += 1

    async def _enrol(self, device: SimulatedDevice) -> None:
        call = enroll_call(
            self.config.enrollment_token,
            platform=device.platform.value,
            model=device.model,
            os_version=str(device.posture["osVersion"]),
            serial_number=f"PBFLEET{secrets.token_hex(5).upper()}",
            user_name=device.user_name,
        )
        async with self._gate:
            answer = await self._client.call(call)
        device.device_id, device.device_token = answer.device_id, answer.device_token
        device.observe(answer.device.compliance_state)

    async def _check_in(self, device: SimulatedDevice) -> None:
        assert device.device_id is not None
        device.sequence += 1
        call = check_in_call(device.device_id, posture_sample(device.posture, device.sequence, self._clock()))
        async with self._gate:
            started = time.perf_counter()
            try:
                answer = await self._client.call(call, device_token=device.device_token)
            except Exception as error:
                self.errors[f"check-in: {error_kind(error)}"] += 1
                return
            finally:
                self._record_latency(time.perf_counter() - started)
        self.samples += 1
        if answer.disposition == "accepted":
            self.accepted += 1
        device.observe(answer.compliance_state)

    async def _register(self, device: SimulatedDevice) -> None:
        """The device agent's broker flow (sign-in, DRS join, the Entra device ID to the MDM), one
        implementation: `DeviceAgent.register`, run in a worker thread with a state file of its own."""
        async with self._registrations:
            if self.stopping:
                return
            try:
                device.entra_device_id = await asyncio.to_thread(self._register_blocking, device)
            except (AgentError, DeepLinkError, MdmApiError, httpx.HTTPError, OSError) as error:
                self.errors[f"register: {type(error).__name__}"] += 1

    def _register_blocking(self, device: SimulatedDevice) -> str:
        target = self.config.registration
        assert target is not None and device.device_id is not None and device.user_name is not None
        upn, password = target.accounts[device.user_name]
        endpoints = AgentEndpoints(
            mdm_url=self._client.base_url,
            directory_url=target.directory_url,
            broker=target.broker,
            tenant=target.tenant_id,
        )
        state = AgentState(
            platform=device.platform.value,
            model=device.model,
            os_version=str(device.posture["osVersion"]),
            display_name=f"{device.platform.value} {device.model} #{device.index}",
            mdm_device_id=device.device_id,
            mdm_device_token=device.device_token,
            user_name=device.user_name,
        )
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=target.ca_bundle) if target.ca_bundle else True
        )
        with (
            tempfile.TemporaryDirectory(prefix="pb-fleet-device-") as home,
            httpx.Client(verify=verify, timeout=30.0, trust_env=False) as directory,
            DeviceAgent(
                Path(home) / "state.json", state, endpoints, clock=self._clock, directory_http=directory
            ) as agent,
        ):
            return agent.register(agent.registration_link(), upn, password).entra_device_id

    def _record_latency(self, seconds: float) -> None:
        # Reservoir sampling keeps percentiles honest over long runs in bounded memory.
        self._latencies_seen += 1
        if len(self._latencies) < LATENCY_RESERVOIR:
            self._latencies.append(seconds)
        else:
            slot = self._random.randrange(self._latencies_seen)
            if slot < LATENCY_RESERVOIR:
                self._latencies[slot] = seconds

    def summary(self) -> FleetSummary:
        end = self._ended if self._ended is not None else time.monotonic()
        compliance = Counter(device.compliance_state for device in self.devices if device.device_id is not None)
        p50, p99 = percentile(self._latencies, 0.50), percentile(self._latencies, 0.99)
        return FleetSummary(
            devices=len(self.devices),
            enrolled=sum(1 for device in self.devices if device.device_id is not None),
            registered=sum(1 for device in self.devices if device.entra_device_id is not None),
            samples=self.samples,
            accepted=self.accepted,
            flips=self.flips,
            elapsed_s=end - self._started,
            compliance={str(state): count for state, count in sorted(compliance.items())},
            errors=dict(self.errors.most_common()),
            latency_p50_ms=None if p50 is None else round(p50 * 1000, 1),
            latency_p99_ms=None if p99 is None else round(p99 * 1000, 1),
        )
