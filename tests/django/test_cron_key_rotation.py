"""A cron key rotation refuses no call: the app accepts the previous key, the scheduler sends it first.

During ``swarmkit secret rotate --previous CRON_API_KEY_FALLBACKS_VERSION
cron_api_key`` the app and the scheduler roll at the same time. A new
scheduler holds the new key and the old one (the fallback); an old app task
accepts only the old key, a new one both: sending the fallback first is
accepted by either. When the fallback ends, an old scheduler's fallback meets
a new app that no longer accepts it: the 401 makes it try its next key.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from swarmkit.django.scheduler import EventLog, Scheduler
from swarmkit.exceptions import CronSettingsError
from tests.django.test_cron_endpoint import call, recent
from tests.django.test_scheduler import OK, Peer, events, job

OLD = "old-cron-key-" + "o" * 32
NEW = "new-cron-key-" + "n" * 32


@pytest.mark.django_db(transaction=True)
def test_the_endpoint_accepts_the_key_and_its_fallbacks(client: Client, settings: Any) -> None:
    settings.SWARMKIT_CRON_API_KEY = NEW
    settings.SWARMKIT_CRON_API_KEY_FALLBACKS = [OLD]
    assert call(client, "quick", recent(), key=NEW)[0] == 200
    # Authorized (409: the slot before is still leased, so the lease answers, not the key).
    assert call(client, "quick", recent(6), key=OLD)[0] in (200, 409)
    assert call(client, "quick", recent(7), key="other-" + "x" * 32)[0] == 401
    settings.SWARMKIT_CRON_API_KEY = None  # no key: a fallback alone opens nothing
    assert call(client, "quick", recent(8), key=OLD)[0] == 401


@pytest.mark.django_db(transaction=True)
def test_fallbacks_from_the_secret_file(
    client: Client, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SWARMKIT_CRON_API_KEY = NEW
    del settings.SWARMKIT_CRON_API_KEY_FALLBACKS
    (tmp_path / "cron_api_key_fallbacks").write_text(OLD + "\n")
    monkeypatch.setenv("SWARMKIT_SECRETS_DIR", str(tmp_path))
    for name in ("CRON_API_KEY_FALLBACKS", "CRON_API_KEY_FALLBACKS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert call(client, "quick", recent(), key=OLD)[0] == 200


def rotating(url: str, fallbacks: list[str]) -> tuple[Scheduler, io.StringIO]:
    out = io.StringIO()
    sched = Scheduler([job("0 0 1 1 *", "yearly")], url=url, key=NEW, fallback_keys=fallbacks,
                      log=EventLog(out), timeout=5, grace=60, drain=5)  # fmt: skip
    return sched, out


def test_the_scheduler_sends_the_fallback_first_and_the_key_after_a_401() -> None:
    with Peer(OK) as peer:
        sched, out = rotating(peer.url, [OLD])
        assert sched.run_once(threading.Event()) == {"yearly": "succeeded"}
    assert [h["Authorization"] for _, h in peer.requests] == [f"Bearer {OLD}"]

    with Peer((401, b"", {}), OK) as peer:
        sched, out = rotating(peer.url, [OLD])
        assert sched.run_once(threading.Event()) == {"yearly": "succeeded"}
    assert [h["Authorization"] for _, h in peer.requests] == [f"Bearer {OLD}", f"Bearer {NEW}"]
    log = [e["event"] for e in events(out) if "attempt" in e]
    assert log == ["succeeded"]  # one call, accepted: no config_error logged
    assert OLD not in out.getvalue() and NEW not in out.getvalue()

    with Peer((401, b"", {})) as peer:  # neither key: the configuration error, once
        sched, out = rotating(peer.url, [OLD])
        assert sched.run_once(threading.Event()) == {"yearly": "config_error"}
    assert len(peer.requests) == 2


def test_a_bad_fallback_is_refused_without_quoting_it() -> None:
    with pytest.raises(CronSettingsError, match="cron_api_key_fallbacks") as caught:
        rotating("http://app:8000/api/cron/", ["bad\nkey" + "k" * 32])
    assert "bad" not in caught.value.message
