"""The shape shared by rules that require one reported security feature to be on."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from ..sample import PostureSample
from .base import ParameterlessRule, RuleCheck, RuleContext


class FeatureOnRule(ParameterlessRule):
    feature: ClassVar[str]
    wire_field: ClassVar[str]

    @staticmethod
    @abstractmethod
    def reading(sample: PostureSample) -> bool | None:
        """The sample's report of the feature."""

    @property
    def requirement(self) -> str:
        return f"{self.feature} is on"

    def check(self, context: RuleContext) -> RuleCheck:
        on = self.reading(context.sample)
        if on is None:
            return RuleCheck.not_reported(self.wire_field)
        if on:
            return RuleCheck.passed(f"{self.feature} is on")
        return RuleCheck.failed(f"{self.feature} is off")
