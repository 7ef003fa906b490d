"""`exmado redis`, and what `exmado up` asks of the broker first: does it answer with the
configured password, and which password the bundled Redis starts with."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from enum import StrEnum
from urllib.parse import urlsplit

from exmado_tui.commands.context import Context
from exmado_tui.config.settings import Secret, Settings, mask_url
from exmado_tui.files.folders import private_folder
from exmado_tui.services.localredis import protected_conf, redis_server_binary
from exmado_tui.services.redis_secret import LOOPBACK, ensure_password, url_password


class Answer(StrEnum):
    """What the broker URL answers a ping with the configured password."""

    ANSWERS = "answers"
    REFUSED = "refused"  # wrong or missing password
    ABSENT = "absent"  # nothing listens


def probe(settings: Settings) -> Answer:
    import redis

    from exmado_tui.services.queue import redis_client

    client = redis_client(settings.broker, connect_timeout_s=2, reply_timeout_s=2, once=True)
    try:
        client.ping()
    except redis.AuthenticationError:
        return Answer.REFUSED
    except redis.ResponseError as exc:  # NOAUTH from a Redis older than redis-py expects
        return Answer.REFUSED if "auth" in str(exc).lower() else Answer.ANSWERS
    except redis.RedisError:
        return Answer.ABSENT
    finally:
        client.close()
    return Answer.ANSWERS


def refusal(settings: Settings) -> str:
    url = mask_url(settings.broker.url)
    if not _configured_password(settings):
        return (
            f"Redis at {url} wants a password: set REDIS_PASSWORD or [broker] password_file "
            "(the bundled Redis of another data folder keeps it in DATA_DIR/redis/password)."
        )
    return f"Redis at {url} refused the password; set REDIS_PASSWORD or [broker] password_file."


def with_bundled_password(settings: Settings) -> Settings:
    """The settings with the bundled Redis's password, made now on its first start, unless
    the settings name one of their own."""
    if _configured_password(settings):
        return settings
    password = Secret(ensure_password(settings.data_dir))
    return replace(settings, broker=replace(settings.broker, password=password))


def redis_command(args: argparse.Namespace, ctx: Context) -> int:
    """Become redis-server, configured from config/redis.conf and the broker settings."""
    url = urlsplit(ctx.settings.broker.url)
    if url.hostname not in LOOPBACK:
        print(
            f"exmado: [broker] url points at {url.hostname}, not this machine; "
            "the bundled Redis serves only 127.0.0.1.",
            file=sys.stderr,
        )
        return 1
    folder = ctx.settings.data_dir / "redis"
    private_folder(folder)
    password = _configured_password(ctx.settings) or ensure_password(ctx.settings.data_dir)
    where = {"port": str(url.port or 6379), "dir": str(folder)}
    conf = protected_conf(folder, password, where | {"pidfile": str(folder / "redis.pid")})
    os.execv(redis_server_binary(), [redis_server_binary(), str(conf)])


def _configured_password(settings: Settings) -> str:
    """The Redis password the settings name: REDIS_PASSWORD, password_file, the bundled one's
    file, or the URL's own."""
    return settings.broker.password.reveal() or url_password(urlsplit(settings.broker.url))
