# -*- test-case-name: tests.test_twistd_hub -*-
"""
The pub/sub hub of a C{twistd websocket} server: C{--hub URL} and the
C{[hub]} table of the configuration file.

One hub serves the whole server process, shared by every application
through L{AppContext.hub<twisted_ws.twistd._apps.AppContext.hub>}: made
the first time an application asks for it, and started and stopped with
the server's services.

  - C{memory:} (the default): a L{LocalHub<twisted_ws.pubsub.LocalHub>},
    in this process only;
  - C{redis://[[user]:password@]host[:port][/db]} or C{rediss://...}: a
    L{RedisHub<twisted_ws.pubsub.RedisHub>}, shared by every process on
    that Redis (it needs the C{redis} extra).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twisted.application.service import Service
from twisted.logger import Logger

from ._values import ConfigError, typeName

_log = Logger(namespace="twisted_ws.hub")

#: The hub URL used when none is given.
DEFAULT_HUB = "memory:"

#: The keys of the C{[hub]} table besides C{url}: the file's name, the
#: L{HubOptions<twisted_ws.pubsub.HubOptions>} or L{RedisHub} argument,
#: and what it means.
HUB_KEYS: dict[str, tuple[str, str]] = {
    "max-buffered": ("maxBuffered", "bytes waiting for one subscriber before it is dropped with 1008"),
    "max-payload-size": ("maxPayloadSize", "the largest message that can be published, in bytes"),
    "max-subscriptions": ("maxSubscriptions", "the most channels one connection may be in"),
    "presence-ttl": ("presenceTTL", "seconds after which a crashed process's members leave (Redis)"),
}


@dataclass
class HubConfig:
    """
    Which hub the server's applications share.

    @ivar url: C{memory:}, C{redis://...} or C{rediss://...}.
    @ivar settings: bounds by L{HUB_KEYS} argument name.
    @ivar origin: where C{url} came from, for messages.
    """

    url: str = DEFAULT_HUB
    settings: dict[str, Any] = field(default_factory=dict)
    origin: str = "--hub"

    @property
    def inProcess(self) -> bool:
        """
        Whether this hub reaches this process's connections only.
        """
        return self.url == DEFAULT_HUB


def redisAvailable() -> bool:
    """
    Whether the C{redis} extra (C{txredisapi}) is installed.
    """
    return importlib.util.find_spec("txredisapi") is not None


def parseHubURL(value: object) -> str:
    """
    Check a hub URL.

    @raise ConfigError: it is not C{memory:}, C{redis://...} or
        C{rediss://...}, or a Redis URL and the C{redis} extra is missing.
    """
    if not isinstance(value, str):
        raise ConfigError(f"expected a URL (memory: or redis://HOST:PORT/DB), got {typeName(value)}")
    url = value.strip()
    if url in ("memory", "memory:", "memory://"):
        return DEFAULT_HUB
    scheme = url.partition(":")[0].lower()
    if scheme not in ("redis", "rediss"):
        raise ConfigError(f"{value!r} is not a hub URL: use memory: or redis://HOST:PORT/DB (rediss:// for TLS)")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"bad port in {_shown(url)!r}") from None
    if port == 0:
        raise ConfigError(f"bad port in {_shown(url)!r}")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(f"the path of a Redis URL is a database number, not {path!r}")
    if not redisAvailable():
        raise ConfigError("a Redis hub needs the redis extra: pip install 'twisted_ws[redis]'")
    return url


def _shown(url: str) -> str:
    """
    C{url} without its password, for messages and logs.
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def _positiveInt(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"expected a positive integer, got {value!r}")
    return value


def _positiveNumber(value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"expected a positive number of seconds, got {value!r}")
    return float(value)


def parseHubTable(table: object, where: str, problems: Any) -> HubConfig | None:
    """
    Parse the C{[hub]} table of a configuration file (C{url} and the
    L{HUB_KEYS}), recording every problem in C{problems}.

    @param where: the file's name and C{": hub"}, for messages.
    """
    if not isinstance(table, dict):
        problems.add(where, f"expected a table ([hub]), found {typeName(table)}")
        return None
    config = HubConfig(origin=f"{where}: url")
    for key, value in table.items():
        if key == "url":
            url = problems.parse(f"{where}: url", parseHubURL, value)
            if url is not None:
                config.url = url
        elif key in HUB_KEYS:
            argument = HUB_KEYS[key][0]
            parse = _positiveNumber if argument == "presenceTTL" else _positiveInt
            parsed = problems.parse(f"{where}: {key}", parse, value)
            if parsed is not None:
                config.settings[argument] = parsed
        else:
            known = ", ".join(["url", *HUB_KEYS])
            problems.add(where, f"unknown key {key!r} (known keys: {known})")
    return config


def makeHub(config: HubConfig | None, reactor: Any) -> Any:
    """
    Make the hub a L{HubConfig} describes (not started).

    @return: an L{IHub<twisted_ws.pubsub.IHub>} that is also an
        L{IService<twisted.application.service.IService>}.
    """
    from twisted_ws.pubsub import HubOptions, LocalHub

    if config is None:
        config = HubConfig()
    settings = dict(config.settings)
    presenceTTL = settings.pop("presenceTTL", None)
    options = HubOptions(**settings)
    if config.inProcess:
        return LocalHub(options)
    from twisted_ws.pubsub import RedisHub

    extra: dict[str, Any] = {}
    if presenceTTL is not None:
        extra["presenceTTL"] = presenceTTL
    return RedisHub.fromURL(config.url, reactor, options=options, **extra)


#: The key of the server's hub among the applications' shared objects.
SHARED_KEY = "twisted_ws.twistd.hub"


class HubService(Service):
    """
    Start and stop the server's hub with the server: C{startService}
    starts it unless it is running already (a factory that listened first
    may have started it), C{stopService} stops it.
    """

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def startService(self) -> None:
        super().startService()
        if not getattr(self.hub, "running", True):
            self.hub.startService()

    def stopService(self) -> Any:
        super().stopService()
        if getattr(self.hub, "running", False):
            return self.hub.stopService()
        return None


def contextHub(context: Any) -> Any:
    """
    The hub of an L{AppContext<twisted_ws.twistd._apps.AppContext>}'s
    server: made from its C{hubConfig} the first time an application asks,
    with a L{HubService} among the server's services.
    """
    if SHARED_KEY not in context.shared:
        hub = makeHub(context.hubConfig, context.reactor)
        context.shared[SHARED_KEY] = hub
        context.addService(HubService(hub))
        if not getattr(context.hubConfig, "inProcess", True):
            _log.info("the applications share the hub on {url}", url=_shown(context.hubConfig.url))
    return context.shared[SHARED_KEY]
