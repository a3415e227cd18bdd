"""The soak run (issue 13): a day's traffic for several partners compressed into minutes, with
SFTP and SMTP outages and kill -9 injected at random, then every order, document and email
checked against an uninterrupted run.

    .venv/bin/python -m tests.soak --minutes 5 --seed 1 [--scale 1] [--json figures.json]

Two identical sites are built in a temporary folder (`site.py`): the same partners (two buyers
on local folder mailboxes, one on a real SFTP server, OpenSSH's sshd on 127.0.0.1) and mail
through a real SMTP server (aiosmtpd on 127.0.0.1), each site with servers of its own. The same
traffic, drawn from the seed (`traffic.py`: purchase orders in files of 1 to 30 sets, changes
and cancellations of orders already sent, an operator's acknowledgements, shipments,
cancellations and invoices through the command line), reaches both. The reference site runs
`gateway run --once` passes and is never disturbed; the faulty site runs the daemon, `gateway
run`, which is killed (-9) at random moments and at chosen points of its work
(`GATEWAY_CRASH_AT`), while its SFTP server goes down or drops its connections and its SMTP
server goes down or answers 4xx (`run.py`). At the end the faulty site is healed and drained,
and the two are compared (`compare.py`): orders, documents, what the partners received, emails.
Exit 0 when they agree, 1 with the list of differences.

`tests/e2e/test_soak_smoke.py` runs a small one inside the test suite.
"""

from tests.soak.run import SoakResult, run_soak

__all__ = ["SoakResult", "run_soak"]
