"""Subjects, tokens and permissions: who a token is, and whether they may do something, cached briefly."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from racetrack.server.errors import AuthError, BadRequest, Conflict, EntityNotFound, PermissionDenied
from racetrack.server.models import Permission, Subject, Token

USER, ESC, JOB_FAMILY = "user", "esc", "job_family"
KINDS = (USER, ESC, JOB_FAMILY)
READ_JOB, DEPLOY_JOB, DEPLOY_NEW_FAMILY = "read_job", "deploy_job", "deploy_new_family"
DELETE_JOB, CALL_JOB, CALL_ADMIN_API, FULL_ACCESS = "delete_job", "call_job", "call_admin_api", "full_access"
SCOPES = (READ_JOB, DEPLOY_JOB, DEPLOY_NEW_FAMILY, DELETE_JOB, CALL_JOB, CALL_ADMIN_API, FULL_ACCESS)
NEW_USER_SCOPES = (READ_JOB, CALL_JOB, DEPLOY_NEW_FAMILY)  # Racetrack's defaults: read and call all
DEPLOYER_SCOPES = (READ_JOB, CALL_JOB, DEPLOY_JOB, DELETE_JOB)  # on what they deployed
TOKEN_PREFIX = "rt_"
SHOWN_PREFIX = 12  # characters of a token kept in clear to name it (`racetrack admin revoke PREFIX`)
MISSING_TOKEN = (
    "missing auth token: send it in the X-Racetrack-Auth header; "
    "`racetrack login TOKEN --remote URL` stores one for the client"
)
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    subject_id: int
    kind: str
    name: str
    is_staff: bool

    @property
    def caller(self) -> str:
        """How jobs see the caller (X-Caller-Name): 'User alice', 'ESC billing', 'Job family chain'."""
        return {USER: "User", ESC: "ESC", JOB_FAMILY: "Job family"}[self.kind] + f" {self.name}"

    @property
    def described(self) -> str:
        """How errors name the caller: 'User: alice', 'ESC: billing', 'Job Family: chain'."""
        return {USER: "User", ESC: "ESC", JOB_FAMILY: "Job Family"}[self.kind] + f": {self.name}"


@dataclass(frozen=True)
class Grant:
    scope: str
    job_name: str | None
    job_version: str | None
    endpoint: str | None

    def covers(self, scope: str, job: str | None, version: str | None, endpoint: str | None) -> bool:
        if self.scope not in (scope, FULL_ACCESS):
            return False
        if self.job_name is not None and self.job_name != job:
            return False
        if self.job_version is not None and self.job_version != version:
            return False
        return self.endpoint is None or (endpoint or "").startswith(self.endpoint)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random secret (256 bits); only its sha256 is stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def parse_subject(text: str) -> tuple[str, str]:
    """'user:alice' -> ('user', 'alice'); BadRequest naming the accepted forms otherwise."""
    kind, _, name = text.partition(":")
    kind = kind.replace("-", "_")
    if kind not in KINDS or not name:
        raise BadRequest(f"subject {text!r} is not user:NAME, esc:NAME or job_family:NAME")
    return kind, name


class _TTLCache:
    """A dict whose entries live `ttl` seconds: bounds how long a revoked token keeps working."""

    def __init__(self, ttl: float, size: int = 10000) -> None:
        self.ttl, self.size = ttl, size
        self._data: dict[object, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: object, load: Callable[[], object]) -> object:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class Auth:
    """Authentication and authorization against the database, each answer cached `ttl` seconds."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 2.0) -> None:
        self.sessions = sessions
        self._tokens = _TTLCache(ttl)
        self._grants = _TTLCache(ttl)

    # --- authentication ---

    def authenticate(self, token: str | None) -> Principal:
        """The caller a token belongs to; AuthError with Racetrack's texts otherwise."""
        if not token:
            raise AuthError(MISSING_TOKEN)
        found = self._tokens.get(digest(token), lambda: self._load_token(token))
        if isinstance(found, str):
            raise AuthError(found)
        assert isinstance(found, Principal)
        return found

    def _load_token(self, token: str) -> Principal | str:
        with self.sessions() as session:
            row = session.execute(
                select(Token, Subject)
                .join(Subject, Subject.id == Token.subject_id)
                .where(Token.digest == digest(token))
            ).first()
        if row is None:
            return "wrong credentials: token is unknown"
        stored, subject = row
        if not stored.active:
            return "given access token has been revoked"
        return Principal(subject.id, subject.kind, subject.name, subject.is_staff)

    def login(self, username: str, password: str) -> tuple[Principal, str]:
        """Check a user's password; a new token for them."""
        with self.sessions() as session:
            subject = session.scalar(select(Subject).where(Subject.kind == USER, Subject.name == username))
            ok = False
            if subject is not None and subject.password_hash:
                try:
                    ok = _hasher.verify(subject.password_hash, password)
                except (VerificationError, InvalidHashError):
                    ok = False
        if subject is None or not ok:
            raise AuthError("wrong credentials: unknown user or wrong password")
        token = self.issue_token(subject.id)
        return Principal(subject.id, subject.kind, subject.name, subject.is_staff), token

    # --- authorization ---

    def grants(self, principal: Principal) -> list[Grant]:
        loaded = self._grants.get(principal.subject_id, lambda: self._load_grants(principal.subject_id))
        assert isinstance(loaded, list)
        return loaded

    def _load_grants(self, subject_id: int) -> list[Grant]:
        with self.sessions() as session:
            rows = session.scalars(select(Permission).where(Permission.subject_id == subject_id)).all()
        return [Grant(row.scope, row.job_name, row.job_version, row.endpoint) for row in rows]

    def allowed(
        self,
        principal: Principal,
        scope: str,
        job: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
    ) -> bool:
        if principal.is_staff:
            return True
        return any(grant.covers(scope, job, version, endpoint) for grant in self.grants(principal))

    def require(
        self,
        principal: Principal,
        scope: str,
        job: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        """PermissionDenied naming the subject, resource and scope unless `principal` may do `scope`."""
        if self.allowed(principal, scope, job, version, endpoint):
            return
        resource = "all jobs" if job is None else (f"{job} v{version}" if version else job)
        where = f"endpoint {endpoint} at " if endpoint else ""
        raise PermissionDenied(
            f'no permission to do this operation: auth subject "{principal.described}" does not have '
            f'permission to access {where}resource "{resource}" with scope "{scope}"; an admin can grant '
            f"it: racetrack admin grant {principal.kind}:{principal.name} {scope}"
            + (f" --job {job}" if job else "")
        )

    # --- administration ---

    def create_subject(
        self, kind: str, name: str, password: str | None = None, is_staff: bool = False
    ) -> tuple[int, str]:
        """A new user, ESC or job family with its first token; (subject id, token)."""
        with self.sessions.begin() as session:
            if session.scalar(select(Subject).where(Subject.kind == kind, Subject.name == name)):
                raise Conflict(
                    f"{kind} {name!r} already exists; `racetrack admin revoke` and grants manage it"
                )
            subject = Subject(
                kind=kind,
                name=name,
                is_staff=is_staff,
                created=time.time(),
                password_hash=hash_password(password) if password else None,
            )
            session.add(subject)
            session.flush()
            subject_id = subject.id
            if kind == USER:
                for scope in (FULL_ACCESS,) if is_staff else NEW_USER_SCOPES:
                    session.add(Permission(subject_id=subject_id, scope=scope))
        return subject_id, self.issue_token(subject_id)

    def subject_id(self, kind: str, name: str, create: bool = False) -> int:
        with self.sessions() as session:
            found = session.scalar(select(Subject.id).where(Subject.kind == kind, Subject.name == name))
        if found is not None:
            return found
        if not create:
            raise EntityNotFound(
                f"there is no {kind} named {name!r}; `racetrack admin` creates users and ESCs"
            )
        return self.create_subject(kind, name)[0]

    def issue_token(self, subject_id: int) -> str:
        token = new_token()
        with self.sessions.begin() as session:
            session.add(
                Token(
                    subject_id=subject_id,
                    prefix=token[:SHOWN_PREFIX],
                    digest=digest(token),
                    active=True,
                    created=time.time(),
                )
            )
        return token

    def family_token(self, family: str) -> str:
        """A fresh token of a job family (its subject created on first use), for AUTH_TOKEN."""
        return self.issue_token(self.subject_id(JOB_FAMILY, family, create=True))

    def grant(
        self,
        kind: str,
        name: str,
        scope: str,
        job: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        if scope not in SCOPES:
            raise BadRequest(f"unknown scope {scope!r}; scopes are {', '.join(SCOPES)}")
        subject_id = self.subject_id(kind, name, create=kind == JOB_FAMILY)
        with self.sessions.begin() as session:
            exists = session.scalar(
                select(Permission).where(
                    Permission.subject_id == subject_id,
                    Permission.scope == scope,
                    Permission.job_name == job,
                    Permission.job_version == version,
                    Permission.endpoint == endpoint,
                )
            )
            if exists is None:
                session.add(
                    Permission(
                        subject_id=subject_id,
                        scope=scope,
                        job_name=job,
                        job_version=version,
                        endpoint=endpoint,
                    )
                )
        self._grants.clear()

    def revoke(self, prefix: str) -> int:
        """Deactivate the token starting with `prefix` (at least 8 characters, matching exactly one)."""
        if len(prefix) < 8:
            raise BadRequest("give at least the first 8 characters of the token to revoke")
        with self.sessions.begin() as session:
            if len(prefix) > SHOWN_PREFIX:
                rows = session.scalars(select(Token).where(Token.digest == digest(prefix))).all()
            else:
                rows = [
                    t
                    for t in session.scalars(select(Token).where(Token.active.is_(True))).all()
                    if t.prefix.startswith(prefix)
                ]
            if not rows:
                raise EntityNotFound(f"no active token starts with {prefix!r}")
            if len(rows) > 1:
                raise BadRequest(f"{len(rows)} tokens start with {prefix!r}; give more characters")
            rows[0].active = False
            rows[0].revoked = time.time()
            return rows[0].id
