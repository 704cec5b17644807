"""Configuration: defaults that work, and a message naming the key (and line) for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import yamlfile
from simulator.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "moisim.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_hold_what_the_seed_needs() -> None:
    config = load_config()
    assert config.affiliates == {"MKP": "1"}
    assert config.catalog["8"].price == 12 and config.catalog["36"].price == 120
    assert {s.id for s in config.slas.values()} == {"Normal", "Retirada (14b25e5)"}
    assert config.timings.window_to_cancel == 1800
    assert {c.role for c in config.credentials} == {"marketplace", "seller", "admin"}
    assert all(s.initial_stock("8") == 1_000_000 for s in config.franchise_stores)


def test_a_store_without_stock_has_plenty_and_one_with_stock_has_what_it_lists(tmp_path: Path) -> None:
    """A store written without stock had none of anything: every placement routed past it, and
    one with no other store got ORD027 for every SKU."""
    config = load_config(write(tmp_path, """franchise-stores:
  - {id: plain, affiliate-id: PLN, slas: [Normal]}
  - {id: listed, affiliate-id: LST, slas: [Normal], stock: {"8": 5}}
  - {id: defaulted, affiliate-id: DFT, slas: [Normal], stock: {default: 7, "8": 5}}
"""))
    plain, listed, defaulted = config.franchise_stores
    assert (plain.initial_stock("8"), plain.initial_stock("36")) == (1_000_000, 1_000_000)
    assert (listed.initial_stock("8"), listed.initial_stock("36")) == (5, 0)
    assert (defaulted.initial_stock("8"), defaulted.initial_stock("36")) == (5, 7)


def test_a_catalog_of_ones_own_works_with_the_built_in_stores(tmp_path: Path) -> None:
    """The built-in stores list 3 units of SKU 999 at FRC, so a file with its own catalog (and so,
    lists replacing lists whole, without 999) stopped at start-up: "SKU '999' is not in the
    catalog", at a key the file never wrote. Those units only go with the built-in catalog."""
    config = load_config(write(tmp_path, "catalog:\n  - {sku: '500', name: Caneca, price: 2500}\n"))
    assert list(config.catalog) == ["500"]
    assert [store.initial_stock("500") for store in config.franchise_stores] == [1_000_000, 1_000_000]


def test_slas_of_ones_own_keep_the_built_in_stores_that_still_have_one(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "slas:\n  - {id: Normal, delivery-channel: delivery}\n"
                                         "  - {id: Express, delivery-channel: delivery, shipping-estimate: 1bd}\n"))
    assert [store.slas for store in config.franchise_stores] == [("Normal",), ("Normal",)]  # no pickup SLA left


def test_a_mistake_in_the_built_in_settings_says_they_are_built_in(tmp_path: Path) -> None:
    """Own SLAs without those the built-in stores use: the problem is in franchise-stores, which the
    file does not have, so it gets no line of the file and says where it comes from."""
    path = write(tmp_path, "slas:\n  - {id: Express, delivery-channel: delivery}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems[0] == (
        f"{path}: franchise-stores[0].slas[0]: SLA 'Normal' is not in slas (Express) (franchise-stores here is the "
        "built-in default, which your file's settings must agree with: a list in your file replaces the built-in "
        "one whole; give franchise-stores too)")


def test_a_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "timings:\n  window-to-cancel: 5m\nserver:\n  port: 9999\n"))
    assert config.timings.window_to_cancel == 300
    assert config.timings.authorization_timeout == 30 * 86400
    assert config.port == 9999 and config.host == "127.0.0.1"


# Nine aliases of nine aliases of ... of a list of nine: 9**7 values, written in seven lines.
ALIAS_BOMB = "a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{inner}'] * 9)}]\n" for inner, name in zip("abcdef", "bcdefg", strict=True))


ALIAS_CHAIN = "x0: &a0 " + "[" * 40 + "]" * 40 + "\n" + "".join(
    f"x{n}: &a{n} " + "[" * 40 + f"*a{n - 1}" + "]" * 40 + "\n" for n in range(1, 30))


@pytest.mark.parametrize("text,expected", [
    ("timings:\n  window-to-cancel: soon\n", ":2: timings.window-to-cancel"),
    ("server:\n  port: 70000\n", ":2: server.port"),
    ("colck: virtual\n", "colck"),
    ("clock: sometimes\n", ":1: clock"),
    ("placement:\n  unknown-skus: maybe\n", ":2: placement.unknown-skus"),
    ("credentials:\n  - app-key: a\n    role: marketplace\n", "credentials[0].app-token: is required"),
    ("callbacks:\n  invoice: /x/{nope}\n", "callbacks.invoice: unknown placeholder"),
    ("franchise-stores:\n  - id: a\n    affiliate-id: A\n    slas: [Express]\n", "franchise-stores[0].slas[0]: SLA 'Express'"),
    ("affiliates:\n  - {id: MKP, sales-channel: 1}\n  - {id: MKP, sales-channel: 2}\n", ":3: affiliates[1].id"),
    ("affiliates:\n  - {id: FRC, sales-channel: 1}\n", "franchise-stores[0].affiliate-id: affiliate id 'FRC' is also a"),
    ("- just\n- a list\n", "must hold a mapping"),
    ("timings: [\n", "invalid YAML"),
    ("timings:\n  window-to-cancel: -5s\n", 'timings.window-to-cancel: "-5s" is not a duration: seconds, or e.g. 30m'),
    ("clock: virtual\nclock: real\n", ":2: clock is written twice (first on line 1)"),
    ("server:\n  port: 1\n  host: h\n  port: 2\n", ":4: server.port is written twice (first on line 2)"),
    ("catalog:\n  - {sku: '8', name: x, price: 1, sku: '9'}\n", ":2: catalog[0].sku is written twice"),
    ("credentials: &c\n  - *c\n", ":1: credentials[0] is an alias (*name) of a value that contains it"),
    (ALIAS_BOMB, "more than 100000 values once its aliases (*name) are expanded"),
    # the walk that records lines ran out of Python's stack (RecursionError) past about 1,000 levels
    ("timings: " + "[" * 2000 + "]" * 2000 + "\n", ": lists and mappings nested more than 64 levels deep; "
     "moisim reads at most 64"),  # at 1:73 with libyaml 0.2.5, 1:1003 with 0.2.6, which stops at 1,000 itself
    ("timings: " + "{a: " * 70 + "1" + "}" * 70 + "\n", ":1:262: lists and mappings nested more than 64 levels"),
    ("timings:\n" + "".join("  " * depth + "a:\n" for depth in range(1, 70)), ":65:129: lists and mappings nested"),
    # each written 41 deep, each holding an alias of the one before: 1,201 once expanded (a RecursionError before)
    (ALIAS_CHAIN, ":1: x1[0][0][0]... is nested more than 64 levels deep once its aliases (*name) are expanded"),
    ("callbacks:\n  ca-file: /no/such.pem\n", ":2: callbacks.ca-file: '/no/such.pem' cannot be read: No such file"),
    ("callbacks:\n  ca-file: " + __file__ + "\n", ":2: callbacks.ca-file: '" + __file__ + "' is not a PEM file of certificates"),
    # read only when a binding names a scenario: without one, moisim started without a word
    ("scenarios:\n  directory: /no/such/folder\n", ":2: scenarios.directory: '/no/such/folder' is not a folder"),
    ("callbacks:\n  verify-tls: maybe\n", ":2: callbacks.verify-tls: \"maybe\" is not of type 'boolean'"),
    ("server:\n  tls-cert: c.pem\n", ":2: server.tls-cert: is given without tls-key: give tls-cert and tls-key together"),
    ("server:\n  tls-cert: /no/c.pem\n  tls-key: /no/k.pem\n", ":2: server.tls-cert: '/no/c.pem' or tls-key '/no/k.pem' "
     "cannot be read: No such file or directory"),
    (f"server:\n  tls-cert: {__file__}\n  tls-key: {__file__}\n", f":2: server.tls-cert: '{__file__}' and tls-key "
     f"'{__file__}' are not a PEM certificate and its key"),
    # A placement then scheduled a timer past the year 9999: a 500 on every order.
    ("timings:\n  window-to-cancel: 3651d\n", ":2: timings.window-to-cancel: '3651d' is longer than ten years (3650d)"),
    ("timings:\n  authorization-timeout: 99999999999999999999\n", ":2: timings.authorization-timeout: 99999999999999999999 "
     "is longer than ten years"),
])
def test_every_mistake_names_its_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)


def test_values_written_out_count_for_nothing_against_the_alias_limit() -> None:
    """Before, every value counted: a catalog of 20,000 SKUs, each with a few fields, was refused
    as "more than 100000 values once its aliases (*name) are expanded", in a file without one."""
    written = yamlfile.MAX_VALUES + 1
    located = yamlfile.load("numbers: [" + "1, " * written + "]\n")
    assert len(located.data["numbers"]) == written
    repeated = "one: &one [" + "1, " * 1000 + "]\nmany: [" + "*one, " * (yamlfile.MAX_VALUES // 1000 + 1) + "]\n"
    with pytest.raises(yamlfile.YamlError, match="more than 100000 values once its aliases"):
        yamlfile.load(repeated)


def test_all_mistakes_are_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "clock: x\nserver:\n  port: -1\n"))
    assert len(caught.value.problems) == 2


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "nope.yaml"))
