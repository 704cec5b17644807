"""Configuration: one YAML file merged over the built-in defaults, validated at start-up.

Every mistake is reported with the key that holds it (and its line in the user's file), all at
once, before anything starts. ``Config`` is the typed, checked result the rest of the code uses.
"""

from __future__ import annotations

import copy
import os
import ssl
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from simulator import yamlfile
from simulator.domain.workflow import all_statuses
from simulator.durations import parse_duration
from simulator.schemas import SchemaRegistry, default_registry

DEFAULTS_FILE = Path(__file__).with_name("default_config.yaml")

INVOICE_PRESETS = {
    "pvt": "/api/oms/pvt/orders/{marketplaceOrderGroup}/invoice",
    "pub": "/api/oms/pub/orders/{marketplaceOrderGroup}/invoice",
    "vtex-protocol": "/pvt/orders/{marketplaceOrderGroup}/invoice",
}
TEMPLATE_FIELDS = {"marketplaceOrderGroup", "orderId", "orderGroup", "marketplaceOrderId"}


class ConfigError(yamlfile.Problems):
    """Every problem found in a configuration, one per line."""

    what = "configuration"


@dataclass(frozen=True)
class Credential:
    app_key: str
    app_token: str
    role: str


@dataclass(frozen=True)
class Sku:
    sku: str
    name: str
    price: int
    measurement_unit: str = "un"
    unit_multiplier: float = 1.0

    @classmethod
    def unlisted(cls, sku: str, price: int) -> "Sku":
        """A SKU the catalog does not list, as ``placement.unknown-skus: accept`` takes it: named by its
        id, in units, at the price the marketplace sent."""
        return cls(sku, f"SKU {sku}", price)


@dataclass(frozen=True)
class Sla:
    id: str
    delivery_channel: str
    shipping_estimate: str = "5bd"
    pickup_point: str | None = None


@dataclass(frozen=True)
class FranchiseStore:
    id: str
    name: str
    affiliate_id: str
    slas: tuple[str, ...]
    stock: dict[str, int]  # sku -> units; "default" for every other SKU of the catalog

    def initial_stock(self, sku: str) -> int:
        return self.stock.get(sku, self.stock.get("default", 0))


PLENTY = 1_000_000  # units of every SKU in a franchise store whose configuration gives no stock


@dataclass(frozen=True)
class Timings:
    window_to_cancel: float = 1800.0
    authorization_timeout: float = 30 * 86400.0
    seller_decision_timeout: float = 30 * 86400.0


@dataclass(frozen=True)
class CallbackSettings:
    timeout: float = 5.0
    attempts: int = 5
    backoff: float = 1.0
    backoff_factor: float = 2.0
    max_backoff: float = 300.0
    concurrency: int = 16
    seller_cancellation: str = "/pvt/orders/order-group/{marketplaceOrderGroup}/notifications/seller-cancellation"
    invoice: str = INVOICE_PRESETS["pvt"]
    change: str = "/pvt/orders/{marketplaceOrderGroup}/changes"
    verify_tls: bool = True
    ca_file: str | None = None

    def tls(self) -> ssl.SSLContext | bool:
        """What the callbacks' connections check an https endpoint's certificate against: the
        system's authorities (True), those plus ``ca_file``'s, or nothing (False)."""
        if not self.verify_tls:
            return False
        if self.ca_file is None:
            return True
        context = ssl.create_default_context()
        context.load_verify_locations(self.ca_file)
        return context

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2, 3, ...)."""
        return min(self.max_backoff, self.backoff * self.backoff_factor ** (attempt - 2))


@dataclass(frozen=True)
class Binding:
    scenario: str
    affiliate: str | None = None
    sku: str | None = None
    order_group_prefix: str | None = None
    start_on: str = "ready-for-handling"
    where: str = field(default="", compare=False)  # "file:line: " of the binding, for a problem found later

    def matches(self, affiliate: str, skus: list[str], marketplace_order_group: str) -> bool:
        """Every criterion given must hold."""
        return ((self.affiliate is None or self.affiliate == affiliate)
                and (self.sku is None or self.sku in skus)
                and (self.order_group_prefix is None or marketplace_order_group.startswith(self.order_group_prefix)))


@dataclass(frozen=True)
class Config:
    account: str
    host: str
    port: int
    max_body_bytes: int
    store_path: str
    synchronous: str
    clock: str
    log_level: str
    log_format: str
    seller_id: str
    seller_name: str
    credentials: tuple[Credential, ...]
    affiliates: dict[str, str]  # affiliate id -> sales channel
    catalog: dict[str, Sku]
    slas: dict[str, Sla]
    franchise_stores: tuple[FranchiseStore, ...]
    timings: Timings
    duplicates: str
    callbacks: CallbackSettings
    journal_cap: int
    scenario_directory: str | None
    bindings: tuple[Binding, ...] = field(default=())
    tls_cert: str | None = None  # with tls_key: the server answers https
    tls_key: str | None = None
    unknown_skus: str = "refuse"  # refuse (400 ORD027) | accept (Sku.unlisted, each store's default stock)

    @property
    def accepts_unknown_skus(self) -> bool:
        return self.unknown_skus == "accept"

    def initial_stock(self, skus: Iterable[str]) -> list[tuple[str, str, int]]:
        """Each franchise store's starting units of these SKUs, as (store id, SKU, units): the
        store's own figure, else its default."""
        return [(s.id, sku, s.initial_stock(sku)) for s in self.franchise_stores for sku in dict.fromkeys(skus)]

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def server_tls(self) -> ssl.SSLContext | None:
        """The server's TLS context, from ``tls_cert`` and ``tls_key``; None to serve plain http."""
        return server_tls_context(self.tls_cert, self.tls_key) if self.tls_cert and self.tls_key else None

    def with_overrides(self, **changes: Any) -> "Config":
        from dataclasses import replace

        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_config(path: str | None = None, registry: SchemaRegistry | None = None) -> Config:
    """The defaults, with the file at ``path`` merged over them; raises ``ConfigError``."""
    registry = registry or default_registry()
    defaults = yamlfile.load_file(str(DEFAULTS_FILE)).data
    located = None
    if path is not None:
        try:
            located = yamlfile.load_file(path)
        except yamlfile.YamlError as exc:
            raise ConfigError([str(exc)]) from None
        user = located.data if located.data is not None else {}
        if not isinstance(user, dict):
            raise ConfigError([f"{path}: the file must hold a mapping of settings, not {type(user).__name__}"])
        problems = [_where(path, located, f) for f in registry.findings("config", user)]
        if problems:
            raise ConfigError(problems)
        merged = _merge(copy.deepcopy(defaults), user)
    else:
        merged, user = defaults, None
    return build_config(merged, path or str(DEFAULTS_FILE), located, frozenset(user) if user is not None else None)


def config_from_dict(data: dict[str, Any], registry: SchemaRegistry | None = None) -> Config:
    """A Config from a dict merged over the defaults (tests and embedders use this)."""
    registry = registry or default_registry()
    problems = [f"{f.where}: {f.message}" for f in registry.findings("config", data)]
    if problems:
        raise ConfigError(problems)
    defaults = yamlfile.load_file(str(DEFAULTS_FILE)).data
    return build_config(_merge(copy.deepcopy(defaults), copy.deepcopy(data)), "<dict>", None, frozenset(data))


def _where(path: str, located: yamlfile.Located | None, finding: Any) -> str:
    line = located.line(finding.path) if located else None
    prefix = f"{path}:{line}: " if line else f"{path}: "
    return f"{prefix}{finding.where}: {finding.message}"


def _merge(base: dict, over: dict) -> dict:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = value
    return base


def build_config(d: dict[str, Any], source: str, located: yamlfile.Located | None,
                 written: frozenset[str] | None = None) -> Config:
    """``written``: the top-level keys the user's file (or dict) gave, or None for the built-in
    defaults alone. A problem under a key the user did not give is in the built-in defaults, and
    says so: a list the user gave replaced one they agreed with (``slas`` without an SLA the
    built-in stores use, say)."""
    problems: list[str] = []

    def builtin(key: str) -> bool:
        return written is not None and key not in written

    def where(path: tuple) -> str:
        line = located.line(path) if located and not builtin(path[0]) else None
        return f"{source}:{line}: " if line else f"{source}: "

    def problem(path: tuple, text: str) -> None:
        if builtin(path[0]):
            text += (f" ({path[0]} here is the built-in default, which your file's settings must agree with: "
                     f"a list in your file replaces the built-in one whole; give {path[0]} too)")
        problems.append(f"{where(path)}{yamlfile.json_path(path)}: {text}")

    def duration(path: tuple, value: Any) -> float:
        try:
            return parse_duration(value)
        except ValueError as exc:
            problem(path, str(exc))
            return 0.0

    creds = tuple(Credential(c["app-key"], c["app-token"], c["role"]) for c in d["credentials"])
    seen_keys: set[str] = set()
    for i, c in enumerate(creds):
        if c.app_key in seen_keys:
            problem(("credentials", i, "app-key"), f"{c.app_key!r} is listed twice")
        seen_keys.add(c.app_key)

    affiliates: dict[str, str] = {}
    for i, a in enumerate(d["affiliates"]):
        if a["id"] in affiliates:
            problem(("affiliates", i, "id"), f"affiliate {a['id']!r} is listed twice")
        affiliates[a["id"]] = str(a["sales-channel"])

    catalog: dict[str, Sku] = {}
    for i, s in enumerate(d["catalog"]):
        sku = str(s["sku"])
        if sku in catalog:
            problem(("catalog", i, "sku"), f"SKU {sku!r} is listed twice")
        catalog[sku] = Sku(sku, s.get("name", f"SKU {sku}"), s["price"], s.get("measurement-unit", "un"),
                           float(s.get("unit-multiplier", 1.0)))

    slas: dict[str, Sla] = {}
    for i, s in enumerate(d["slas"]):
        if s["id"] in slas:
            problem(("slas", i, "id"), f"SLA {s['id']!r} is listed twice")
        slas[s["id"]] = Sla(s["id"], s["delivery-channel"], s.get("shipping-estimate", "5bd"), s.get("pickup-point"))

    stores: list[FranchiseStore] = []
    store_ids: set[str] = set()
    store_affiliates: set[str] = set()
    for i, f in enumerate(d["franchise-stores"]):
        if f["id"] in store_ids:
            problem(("franchise-stores", i, "id"), f"franchise store {f['id']!r} is listed twice")
        if f["affiliate-id"] in store_affiliates:
            problem(("franchise-stores", i, "affiliate-id"), f"affiliate id {f['affiliate-id']!r} is used by two stores")
        elif f["affiliate-id"] in affiliates:  # order ids start with it: a franchise order's id would be a chain order's
            problem(("franchise-stores", i, "affiliate-id"), f"affiliate id {f['affiliate-id']!r} is also a "
                                                             "marketplace affiliate; use another")
        store_ids.add(f["id"])
        store_affiliates.add(f["affiliate-id"])
        store_slas = list(f["slas"])
        if builtin("franchise-stores"):  # as with stock: a built-in store keeps the SLAs still listed
            store_slas = [sla for sla in store_slas if sla in slas] or store_slas  # none: named below
        for j, sla in enumerate(store_slas):
            if sla not in slas:
                problem(("franchise-stores", i, "slas", j), f"SLA {sla!r} is not in slas ({', '.join(slas)})")
        # No stock: plenty of everything, as the built-in stores have; a stock mapping: what it lists
        # (and its "default" for the rest, 0 without one).
        given = f.get("stock")
        stock = {str(k): v for k, v in given.items()} if given is not None else {"default": PLENTY}
        if builtin("franchise-stores"):  # the built-in stores' few units of 999 are for the built-in catalog
            stock = {sku: units for sku, units in stock.items() if sku == "default" or sku in catalog}
        for sku in stock:
            if sku != "default" and sku not in catalog:
                problem(("franchise-stores", i, "stock", sku), f"SKU {sku!r} is not in the catalog")
        stores.append(FranchiseStore(f["id"], f.get("name", f["id"]), f["affiliate-id"], tuple(store_slas), stock))

    t = d["timings"]
    timings = Timings(
        duration(("timings", "window-to-cancel"), t["window-to-cancel"]),
        duration(("timings", "authorization-timeout"), t["authorization-timeout"]),
        duration(("timings", "seller-decision-timeout"), t["seller-decision-timeout"]),
    )

    cb = d["callbacks"]
    invoice = INVOICE_PRESETS.get(cb["invoice"], cb["invoice"])
    templates = {"seller-cancellation": cb["seller-cancellation"], "invoice": invoice, "change": cb["change"]}
    for key, template in templates.items():
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as exc:
            problem(("callbacks", key), f"bad template {template!r}: {exc}")
            continue
        unknown = names - TEMPLATE_FIELDS
        if unknown:
            problem(("callbacks", key), f"unknown placeholder(s) {sorted(unknown)}; use {sorted(TEMPLATE_FIELDS)}")
    callbacks = CallbackSettings(
        timeout=duration(("callbacks", "timeout"), cb["timeout"]),
        attempts=cb["attempts"],
        backoff=duration(("callbacks", "backoff"), cb["backoff"]),
        backoff_factor=float(cb["backoff-factor"]),
        max_backoff=duration(("callbacks", "max-backoff"), cb["max-backoff"]),
        concurrency=cb["concurrency"],
        seller_cancellation=cb["seller-cancellation"],
        invoice=invoice,
        change=cb["change"],
        verify_tls=cb["verify-tls"],
        ca_file=cb["ca-file"],
    )
    if callbacks.timeout <= 0:
        problem(("callbacks", "timeout"), "must be more than 0")
    if callbacks.ca_file is not None:
        ca = repr(callbacks.ca_file)
        trouble = _pem_trouble(callbacks.tls, f"{ca} cannot be read", f"{ca} is not a PEM file of certificates")
        if trouble:
            problem(("callbacks", "ca-file"), trouble)

    bindings = tuple(
        Binding(b["scenario"], b.get("affiliate"), None if b.get("sku") is None else str(b["sku"]),
                b.get("order-group-prefix"), b.get("start-on", Binding.start_on),
                where(("scenarios", "bindings", i, "scenario")))
        for i, b in enumerate(d["scenarios"]["bindings"])
    )
    for i, b in enumerate(bindings):
        if not (b.affiliate or b.sku or b.order_group_prefix):
            problem(("scenarios", "bindings", i), "a binding needs affiliate, sku or order-group-prefix")
        if b.start_on not in all_statuses():
            problem(("scenarios", "bindings", i, "start-on"), f"{b.start_on!r} is not a status; use one of {all_statuses()}")
        # a typo here would leave the binding matching no order, without a word
        if b.affiliate is not None and b.affiliate not in affiliates:
            problem(("scenarios", "bindings", i, "affiliate"), f"{b.affiliate!r} is not an affiliate "
                                                               f"({', '.join(affiliates)}); no order would match")
        if b.sku is not None and b.sku not in catalog and d["placement"]["unknown-skus"] != "accept":
            problem(("scenarios", "bindings", i, "sku"), f"SKU {b.sku!r} is not in the catalog, and placement."
                                                         "unknown-skus refuses such SKUs; no order would match")

    directory = d["scenarios"]["directory"]
    if directory is not None and not os.path.isdir(directory):  # read only for bindings, but a mistake all the same
        problem(("scenarios", "directory"), f"{directory!r} is not a folder (a relative path is read from the folder "
                                            f"moisim starts in, {os.getcwd()})")
    _check_server_tls(d["server"], problem)
    if problems:
        raise ConfigError(problems)
    return Config(
        account=d["account"],
        host=d["server"]["host"],
        port=d["server"]["port"],
        max_body_bytes=d["server"]["max-body-bytes"],
        store_path=d["store"]["path"],
        synchronous=d["store"]["synchronous"],
        clock=d["clock"],
        log_level=d["logging"]["level"],
        log_format=d["logging"]["format"],
        seller_id=str(d["seller"]["id"]),
        seller_name=d["seller"]["name"],
        credentials=creds,
        affiliates=affiliates,
        catalog=catalog,
        slas=slas,
        franchise_stores=tuple(stores),
        timings=timings,
        duplicates=d["placement"]["duplicates"],
        unknown_skus=d["placement"]["unknown-skus"],
        callbacks=callbacks,
        journal_cap=d["journal"]["cap"],
        scenario_directory=d["scenarios"]["directory"],
        bindings=bindings,
        tls_cert=d["server"]["tls-cert"],
        tls_key=d["server"]["tls-key"],
    )


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _check_server_tls(server: dict[str, Any], problem: Callable[[tuple, str], None]) -> None:
    """Both of tls-cert and tls-key or neither, and the two make a certificate and its key."""
    cert, key = server["tls-cert"], server["tls-key"]
    if bool(cert) != bool(key):
        given, missing = ("tls-cert", "tls-key") if cert else ("tls-key", "tls-cert")
        problem(("server", given), f"is given without {missing}: give tls-cert and tls-key together")
        return
    if not cert:
        return
    trouble = _pem_trouble(lambda: server_tls_context(cert, key), f"{cert!r} or tls-key {key!r} cannot be read",
                           f"{cert!r} and tls-key {key!r} are not a PEM certificate and its key")
    if trouble:
        problem(("server", "tls-cert"), trouble)


def _pem_trouble(load: Callable[[], object], unreadable: str, invalid: str) -> str | None:
    """What is wrong with the PEM files ``load`` reads into a TLS context, in the caller's words."""
    try:
        load()
    except ssl.SSLError as exc:  # before OSError: it is one
        return f"{invalid} ({exc.reason or exc})"
    except OSError as exc:
        return f"{unreadable}: {exc.strerror or exc}"
    return None
