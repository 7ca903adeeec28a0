"""Issue 18.3: the nightly fan-out keeps at most NIGHTLY_IN_FLIGHT schools on the broker; each
school's task, done or failed, queues the next, so one slow or failing school holds no other."""

import types

import pytest

from escalation import tasks


@pytest.fixture
def sent(monkeypatch, settings):
    settings.NIGHTLY_IN_FLIGHT = 1
    calls = []
    monkeypatch.setattr(tasks.nightly_school, "apply_async",
                        lambda args, kwargs, headers: calls.append((args[0], kwargs["feed"])))
    return calls


def test_only_the_window_is_queued_and_each_school_feeds_the_next_even_when_it_fails(
        db, school_a, school_b, sent, monkeypatch):
    ran = []

    def fake_run(schema, night):
        ran.append(schema)
        if schema == "test_a":
            raise RuntimeError("a slow school's worker gave up")
        return types.SimpleNamespace(pk=1, summary={})

    monkeypatch.setattr(tasks, "run_for_schema", fake_run)
    every = tasks.nightly_all_schools(as_of="2025-09-02", schemas=["test_a", "test_b"])
    assert every == ["test_a", "test_b"]
    assert [s for s, _ in sent] == ["test_a"]  # the window: one school on the broker
    feed = sent[0][1]
    assert tasks._redis().lrange(tasks._feed_key(feed), 0, -1) == [b"test_b"]

    with pytest.raises(RuntimeError):
        tasks.nightly_school("test_a", "2025-09-02", feed=feed)
    assert [s for s, _ in sent] == ["test_a", "test_b"]  # fed on although test_a failed
    assert tasks.nightly_school("test_b", "2025-09-02", feed=feed)["schema"] == "test_b"
    assert len(sent) == 2 and ran == ["test_a", "test_b"]  # nothing left to feed
    assert tasks._redis().exists(tasks._feed_key(feed)) == 0


def test_a_run_within_the_window_uses_no_feed_list(db, school_a, school_b, sent, settings):
    settings.NIGHTLY_IN_FLIGHT = 64
    tasks.nightly_all_schools(as_of="2025-09-02", schemas=["test_a", "test_b"])
    assert sorted(s for s, _ in sent) == ["test_a", "test_b"]
    assert tasks._redis().exists(tasks._feed_key(sent[0][1])) == 0
