"""The session state machine, without an event loop."""

from __future__ import annotations

import pytest

from fastrapi import CloseCode, WebSocketDisconnect, WebSocketState, WebSocketStateError
from fastrapi._state import Session
from fastrapi._transport import Close, Reject


def connected() -> Session:
    session = Session()
    session.accept()
    return session


def test_send_and_receive_before_accept_are_local_errors() -> None:
    session = Session()
    with pytest.raises(WebSocketStateError, match=r"send_text\(\) before accept\(\)"):
        session.check_send("send_text")
    with pytest.raises(WebSocketStateError, match=r"receive\(\) before accept\(\)"):
        session.check_receive("receive")


def test_accept_twice_is_a_local_error() -> None:
    session = connected()
    assert session.application_state is WebSocketState.CONNECTED
    with pytest.raises(WebSocketStateError, match="accept\\(\\) may be called once"):
        session.accept()


def test_accept_after_the_client_left_raises_disconnect() -> None:
    session = Session()
    session.on_peer_close(Close(CloseCode.GOING_AWAY))
    with pytest.raises(WebSocketDisconnect) as caught:
        session.accept()
    assert caught.value.code == CloseCode.GOING_AWAY


def test_close_then_use_is_a_local_error_and_close_again_does_nothing() -> None:
    session = connected()
    assert session.close(4000, "bye") == Close(4000, "bye")
    assert session.application_state is WebSocketState.CLOSING
    with pytest.raises(WebSocketStateError, match=r"receive_text\(\) after close\(\)"):
        session.check_receive("receive_text")
    with pytest.raises(WebSocketStateError, match=r"send_json\(\) after close\(\)"):
        session.check_send("send_json")
    assert session.close(1000, "") is None
    assert session.final_close(Close(1000)) is None
    session.on_close_sent()
    assert session.application_state.name == "DISCONNECTED"


def test_close_before_accept_is_a_refusal() -> None:
    session = Session()
    assert session.close(1000, "") == Reject(403)
    assert session.final_close(Close(1000)) is None


def test_handler_ending_before_accept_refuses() -> None:
    assert Session().final_close(Close(CloseCode.INTERNAL_ERROR)) == Reject(403)


@pytest.mark.parametrize(("code", "reason"), [(999, ""), (1005, ""), (1006, ""), (5000, "")])
def test_close_codes_that_may_not_be_sent(code: int, reason: str) -> None:
    with pytest.raises(ValueError, match=f"close code {code} cannot be sent"):
        connected().close(code, reason)


def test_close_reason_over_123_bytes() -> None:
    with pytest.raises(ValueError, match="124 bytes"):
        connected().close(1000, "é" * 62)


def test_after_peer_close_sends_raise_its_code_and_no_close_is_due() -> None:
    session = connected()
    session.on_peer_close(Close(4001, "bye"))
    with pytest.raises(WebSocketDisconnect) as caught:
        session.check_send("send_text")
    assert (caught.value.code, caught.value.reason) == (4001, "bye")
    session.check_receive("receive")  # queued messages may still be read
    assert session.disconnect().code == 4001
    assert session.close(1000, "") is None
    assert session.final_close(Close(1000)) is None


def test_server_end_is_reported_in_the_final_close() -> None:
    session = connected()
    session.on_server_end(CloseCode.GOING_AWAY, "idle timeout")
    session.on_peer_close(Close(1000))  # the first reason stands
    assert session.disconnect().reason == "idle timeout"
    session = connected()
    session.on_server_end(CloseCode.MESSAGE_TOO_BIG, "too big")
    assert session.final_close(Close(1000)) == Close(CloseCode.MESSAGE_TOO_BIG, "too big")


def test_handler_outcome_wins_over_server_end() -> None:
    session = connected()
    session.on_server_end(CloseCode.GOING_AWAY, "idle timeout")
    assert session.final_close(Close(CloseCode.INTERNAL_ERROR)) == Close(CloseCode.INTERNAL_ERROR)


def test_unexplained_end_is_abnormal() -> None:
    assert connected().disconnect().code == CloseCode.ABNORMAL_CLOSURE


def test_state_values_are_fastrapis() -> None:
    assert [s.value for s in WebSocketState] == [0, 1, 2, 3]
    assert WebSocketState(1) is WebSocketState.CONNECTED


def test_who_closed_first_is_kept() -> None:
    ours = connected()
    ours.close(4001, "kicked")
    ours.on_peer_close(Close(4001, "kicked"))  # the peer's answer does not change it
    assert (ours.closed_by, ours.close_code, ours.close_reason) == ("server", 4001, "kicked")

    theirs = connected()
    theirs.on_peer_close(Close(1001, "tab closed"))
    theirs.final_close(Close(CloseCode.NORMAL_CLOSURE))
    assert (theirs.closed_by, theirs.close_code) == ("client", 1001)

    timed_out = connected()
    timed_out.on_server_end(CloseCode.GOING_AWAY, "idle timeout")
    timed_out.final_close(Close(CloseCode.NORMAL_CLOSURE))
    assert (timed_out.closed_by, timed_out.close_code) == ("server", 1001)

    returned = connected()
    returned.final_close(Close(CloseCode.NORMAL_CLOSURE))
    assert (returned.closed_by, returned.close_code, returned.close_reason) == ("server", 1000, "")


def test_a_failed_connection_is_marked_and_a_clean_one_is_not() -> None:
    """``failed`` (no close handshake is waited for) comes from a protocol failure we sent or
    a failing server end (ping timeout), never from the peer's own close or a plain end."""
    protocol_error = connected()
    protocol_error.on_peer_close(Close(CloseCode.PROTOCOL_ERROR, "bad frame", failed=True))
    assert protocol_error.failed
    ping_timeout = connected()
    assert ping_timeout.server_close(CloseCode.INTERNAL_ERROR, "ping", failed=True) is not None
    assert ping_timeout.failed
    clean = connected()
    clean.on_peer_close(Close(CloseCode.NORMAL_CLOSURE))
    idle = connected()
    assert idle.server_close(CloseCode.GOING_AWAY, "idle timeout") is not None
    assert not clean.failed
    assert not idle.failed


def test_a_close_after_the_server_closed_does_nothing_more() -> None:
    session = connected()
    shutdown = Close(CloseCode.GOING_AWAY, "shutdown")
    assert session.server_close(shutdown.code, shutdown.reason) == shutdown
    assert session.server_close(CloseCode.GOING_AWAY, "again") is None  # queued already
    with pytest.raises(WebSocketDisconnect) as caught:
        session.check_send("send_text")
    assert caught.value.code == CloseCode.GOING_AWAY
    assert session.close(CloseCode.NORMAL_CLOSURE, "") is None
    assert session.application_state is WebSocketState.CLOSING
    assert (session.closed_by, session.close_code) == ("server", CloseCode.GOING_AWAY)


def test_a_server_close_before_accept_or_after_the_peer_queues_nothing() -> None:
    assert Session().server_close(CloseCode.GOING_AWAY, "") is None
    session = connected()
    session.on_peer_close(Close(CloseCode.NORMAL_CLOSURE, "bye"))
    assert session.server_close(CloseCode.GOING_AWAY, "") is None
    assert session.disconnect().code == CloseCode.NORMAL_CLOSURE  # the peer's, first
