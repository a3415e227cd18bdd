"""The functional acknowledgements (997, and 999 for implementation guides): a partner's verdict
on a group we sent, taken in to follow our documents (accepted, rejected); the ones we owe are
written by the codec (`gateway.x12.ack`) as each file is taken in."""

from __future__ import annotations

from gateway.kinds.base import Kind

KIND = Kind("997", "functional acknowledgement", acknowledges=True)
IMPLEMENTATION_KIND = Kind("999", "implementation acknowledgement", acknowledges=True)
