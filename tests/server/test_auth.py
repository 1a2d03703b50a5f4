"""Tokens, passwords and permissions on a real (SQLite) database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from racetrack.server import db
from racetrack.server.auth import (
    CALL_JOB,
    DEPLOY_JOB,
    ESC,
    JOB_FAMILY,
    READ_JOB,
    USER,
    Auth,
    digest,
    parse_subject,
)
from racetrack.server.errors import AuthError, BadRequest, EntityNotFound, PermissionDenied
from racetrack.server.models import Subject, Token


@pytest.fixture
def auth(tmp_path: Path) -> Auth:
    engine = db.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.migrate(engine)
    return Auth(db.sessions(engine), ttl=0)


def test_tokens_are_stored_only_as_hashes(auth: Auth) -> None:
    subject_id, token = auth.create_subject(USER, "alice")
    with auth.sessions() as session:
        stored = session.scalars(select(Token).where(Token.subject_id == subject_id)).one()
    assert stored.digest == digest(token) and token not in (stored.digest, stored.prefix)
    assert len(token) > 40
    assert auth.authenticate(token).caller == "User alice"


def test_missing_unknown_and_revoked_tokens_get_racetracks_messages(auth: Auth) -> None:
    _, token = auth.create_subject(ESC, "billing")
    with pytest.raises(AuthError, match="missing auth token"):
        auth.authenticate(None)
    with pytest.raises(AuthError, match="wrong credentials: token is unknown"):
        auth.authenticate(token + "x")
    assert auth.authenticate(token).caller == "ESC billing"
    auth.revoke(token[:10])
    with pytest.raises(AuthError, match="given access token has been revoked"):
        auth.authenticate(token)


def test_revoke_needs_a_long_enough_prefix_of_an_active_token(auth: Auth) -> None:
    with pytest.raises(BadRequest, match="at least the first 8"):
        auth.revoke("rt_")
    with pytest.raises(EntityNotFound, match="no active token starts with"):
        auth.revoke("rt_nothing-like-this")
    _, token = auth.create_subject(USER, "a")
    auth.revoke(token)  # the whole token works too
    with pytest.raises(AuthError, match="revoked"):
        auth.authenticate(token)


def test_passwords_are_argon2_hashes_and_login_issues_a_token(auth: Auth) -> None:
    auth.create_subject(USER, "carol", password="s3cret-pass")
    with auth.sessions() as session:
        stored = session.scalars(select(Subject).where(Subject.name == "carol")).one()
    assert stored.password_hash and stored.password_hash.startswith("$argon2")
    principal, token = auth.login("carol", "s3cret-pass")
    assert auth.authenticate(token) == principal
    with pytest.raises(AuthError, match="wrong credentials"):
        auth.login("carol", "wrong")


def test_new_users_read_and_call_everything_but_deploy_only_new_families(auth: Auth) -> None:
    _, token = auth.create_subject(USER, "dave")
    dave = auth.authenticate(token)
    assert auth.allowed(dave, READ_JOB, "adder", "1.0.0")
    assert auth.allowed(dave, CALL_JOB, "adder", "1.0.0", "/api/v1/perform")
    with pytest.raises(PermissionDenied) as denied:
        auth.require(dave, DEPLOY_JOB, "adder")
    assert str(denied.value).startswith(
        'no permission to do this operation: auth subject "User: dave" does not have permission to access '
        'resource "adder" with scope "deploy_job"'
    )
    auth.grant(USER, "dave", DEPLOY_JOB, "adder")
    assert auth.allowed(dave, DEPLOY_JOB, "adder")
    assert not auth.allowed(dave, DEPLOY_JOB, "other")


def test_job_family_grants_are_per_job_and_endpoint(auth: Auth) -> None:
    token = auth.family_token("chain")
    chain = auth.authenticate(token)
    assert chain.caller == "Job family chain"
    assert not auth.allowed(chain, CALL_JOB, "adder", "1.0.0", "/api/v1/perform")
    auth.grant(JOB_FAMILY, "chain", CALL_JOB, "adder", endpoint="/api/v1/perform")
    assert auth.allowed(chain, CALL_JOB, "adder", "1.0.0", "/api/v1/perform")
    assert not auth.allowed(chain, CALL_JOB, "adder", "1.0.0", "/api/v1/other")
    assert not auth.allowed(chain, CALL_JOB, "multiplier", "1.0.0", "/api/v1/perform")


def test_subjects_and_scopes_are_checked() -> None:
    assert parse_subject("user:alice") == (USER, "alice")
    assert parse_subject("job_family:chain") == (JOB_FAMILY, "chain")
    with pytest.raises(BadRequest, match="user:NAME"):
        parse_subject("alice")
