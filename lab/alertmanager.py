"""A real Alertmanager (Debian's prometheus-alertmanager) that the lab's Prometheus sends its
alerts to, and a watcher of its v2 API that records when each alert arrived and when it went
away: alerts.jsonl in LAB_OUT (one line per transition) and the summary's "alerts" list.

The watcher reads GET /api/v2/alerts (every alert Alertmanager holds that has not ended, active,
silenced, inhibited or not yet processed alike): an alert is "firing" from the first poll that
lists it and "resolved" at the first poll that no longer does (Prometheus sends it resolved, or
stopped sending it and its endsAt passed).
"""
from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import yaml

from lab.prometheus import Processes, http_get, start_listening

BINARY = "prometheus-alertmanager"


class Alertmanager:
    def __init__(self, base: str) -> None:
        self.base = base

    def alerts(self) -> list[dict]:
        status, body = http_get(f"{self.base}/api/v2/alerts?active=true&silenced=true&inhibited=true"
                                "&unprocessed=true", timeout=5)
        if status != 200:
            raise RuntimeError(f"Alertmanager /api/v2/alerts answered {status}: {body[:200]!r}")
        return json.loads(body)


def start_alertmanager(procs: Processes, workdir: Path, binary: str = BINARY, timeout: float = 30) -> tuple[Alertmanager, int]:
    """Starts Alertmanager on a free loopback port, clustering off, with one receiver that sends
    nothing (the lab reads what it received from its API). Returns it and its port."""
    receiver = f"lab-{uuid.uuid4().hex[:12]}"  # tells this Alertmanager from another on the port
    config = {"route": {"receiver": receiver, "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
              "receivers": [{"name": receiver}]}
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    data = workdir / "alertmanager"
    data.mkdir(exist_ok=True)

    def ready(port: int) -> bool:
        status, body = http_get(f"http://127.0.0.1:{port}/api/v2/status", 1)
        return status == 200 and receiver in json.loads(body).get("config", {}).get("original", "")

    _, port = start_listening(
        procs, "alertmanager",
        lambda port: [binary, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={data}",
                      f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        workdir / "alertmanager.log", ready, timeout)
    return Alertmanager(f"http://127.0.0.1:{port}"), port


class AlertLog:
    """Polls Alertmanager in a thread; `t` of each transition is `clock() - start` (scenario
    seconds, like the timeline)."""

    def __init__(self, am: Alertmanager, clock, out: Path, poll_seconds: float = 0.25) -> None:
        self.am = am
        self.clock = clock
        self.start = 0.0
        self.poll_seconds = poll_seconds
        self.path = out / "alerts.jsonl"
        self.path.write_text("")
        self.active: dict[str, dict] = {}  # fingerprint -> episode
        self.episodes: list[dict] = []
        self.errors: list[str] = []
        self.polls_ok = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alertmanager-watch", daemon=True)

    def begin(self, start: float) -> "AlertLog":
        self.start = start
        self._thread.start()
        return self

    def _write(self, t: float, name: str, state: str, labels: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"t": round(t, 2), "alert": name, "state": state, "labels": labels}) + "\n")

    def poll(self) -> None:
        try:
            listed = {a["fingerprint"]: a for a in self.am.alerts()}
        except (OSError, RuntimeError, ValueError) as e:
            self.errors.append(str(e))
            return
        self.polls_ok += 1
        t = self.clock() - self.start
        with self._lock:
            for fp, a in listed.items():
                if fp not in self.active:
                    labels = dict(sorted(a["labels"].items()))
                    episode = {"alert": labels.get("alertname", ""), "fired_at": round(t, 2), "resolved_at": None,
                               "labels": labels}
                    self.active[fp] = episode
                    self.episodes.append(episode)
                    self._write(t, episode["alert"], "firing", labels)
            for fp in [fp for fp in self.active if fp not in listed]:
                episode = self.active.pop(fp)
                episode["resolved_at"] = round(t, 2)
                self._write(t, episode["alert"], "resolved", episode["labels"])

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.poll_seconds)

    def stop(self) -> list[dict]:
        """Stops polling (after one last poll); the episodes, still firing ones with resolved_at None."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.poll()
        with self._lock:
            return [dict(e) for e in self.episodes]

    def watched(self) -> bool:
        """Whether the run saw Alertmanager: polls answered, and no more than 5 % of them failed
        (a dead Alertmanager lists nothing, which must not read as "no alert fired")."""
        return self.polls_ok > 0 and len(self.errors) * 20 <= self.polls_ok + len(self.errors)

    def fired(self) -> list[str]:
        with self._lock:
            return sorted({e["alert"] for e in self.episodes})


def expectations(expect: dict, episodes: list[dict], watched: bool = True) -> dict[str, dict]:
    """The alert keys of a scenario's expect: alerts_fired (each named alert reached Alertmanager
    during the run) and no_alerts (none did, and the run did watch Alertmanager: `watched`)."""
    fired = sorted({e["alert"] for e in episodes})
    out = {}
    if "alerts_fired" in expect:
        want = sorted(expect["alerts_fired"])
        out["alerts_fired"] = {"expected": want, "got": fired, "met": set(want) <= set(fired)}
    if "no_alerts" in expect:
        out["no_alerts"] = {"expected": expect["no_alerts"], "got": not fired,
                            "met": (not fired) == bool(expect["no_alerts"]) and watched}
    return out

