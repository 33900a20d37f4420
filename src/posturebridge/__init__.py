"""posturebridge: device posture decides access in Microsoft Entra ID."""

__version__ = "0.1.0"
