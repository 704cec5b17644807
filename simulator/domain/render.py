"""Orders in VTEX's shapes: the OMS order object, the list entry and the place-order response.

Field names and nesting follow the Orders API's Get order example (vtex-api-notes.md §5);
fields moisim has nothing to say about are present with VTEX's empty values, so clients that
read them find what they expect.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Callable

from simulator.clock import iso
from simulator.config import Config
from simulator.domain.orders import Figures, Item, Order
from simulator.domain.shipping import promised_date
from simulator.domain.workflow import Kind, Status

STATUS_DESCRIPTIONS = {
    "order-accepted": "Pedido aceito",
    "waiting-for-mkt-authorization": "Aguardando autorização do marketplace",
    "waiting-ffmt-authorization": "Aguardando autorização para despachar",
    "payment-approved": "Pagamento Aprovado",
    "window-to-cancel": "Carência para Cancelamento",
    "ready-for-handling": "Pronto para o manuseio",
    "handling": "Preparando Entrega",
    "invoiced": "Faturado",
    "waiting-for-seller-decision": "Aguardando decisão do seller",
    "cancellation-requested": "Cancelamento solicitado",
    "canceled": "Cancelado",
}
ORIGIN = {Kind.CHAIN: "Chain", Kind.FRANCHISE: "Fulfillment"}


# An item's fields that VTEX shows as the marketplace placed them (Checkout's and the fulfillment
# protocol's item): kept on the item and shown over moisim's defaults.
ITEM_FIELDS_AS_SENT = ("attachments", "itemAttachment", "bundleItems", "priceTags", "isGift", "commission",
                       "freightCommission")


def item_json(item: Item, index: int, order_id: str) -> dict[str, Any]:
    """An item of the order ``order_id``: everything here comes from the item, its index and that id."""
    shown: dict[str, Any] = {
        "uniqueId": f"{order_id}-{index}", "id": item.id, "productId": item.id, "ean": None,
        "lockId": order_id, "itemAttachment": {"content": {}, "name": None}, "attachments": [],
        "quantity": item.quantity, "seller": item.seller, "name": item.name, "refId": item.id,
        "price": item.price, "listPrice": item.price, "manualPrice": None, "priceTags": [],
        "imageUrl": None, "detailUrl": None, "components": [], "bundleItems": [], "params": [],
        "offerings": [], "sellerSku": item.id, "priceValidUntil": None, "commission": 0, "tax": 0,
        "preSaleDate": None, "measurementUnit": item.measurement_unit, "unitMultiplier": item.unit_multiplier,
        # VTEX's Orders API types an item's shippingPrice as a nullable string and shows null: the
        # price is in shippingData.logisticsInfo[].price (and the Shipping total), as here.
        "sellingPrice": item.price, "isGift": False, "shippingPrice": None,
        "rewardValue": 0, "freightCommission": 0,
        "priceDefinition": {"sellingPrices": [{"value": item.price, "quantity": item.quantity}],
                            "calculatedSellingPrice": item.price, "total": item.total, "reason": None},
        "taxCode": None, "parentItemIndex": None, "parentAssemblyBinding": None, "callCenterOperator": None,
        "serialNumbers": None, "assemblies": [], "costPrice": None, "attachmentOfferings": [],
        "additionalInfo": additional_info(),
        "fulfillment": {"franchiseStore": item.store_id},
    }
    if item.sent:
        shown.update((k, v) for k, v in item.sent.items() if v is not None)
    return shown


def additional_info() -> dict[str, Any]:
    """An item's brand, categories and dimensions: moisim's catalog has none of them (the keys are
    the Orders API's; Checkout's are a subset)."""
    return {"brandName": None, "brandId": None, "categoriesIds": None, "categories": [], "productClusterId": None,
            "commercialConditionId": None, "dimension": None, "offeringInfo": None, "offeringType": None,
            "offeringTypeId": None}


def checkout_item_json(item: Item, index: int, order_id: str) -> dict[str, Any]:
    """The place-order response's item: the order's item with the fields Checkout's item adds."""
    shown = item_json(item, index, order_id)
    shown.update(productRefId=item.id, skuName=item.name, modalType=None, manualPriceAppliedBy=None,
                 productCategoryIds=None, productCategories={}, availability="available", manufacturerCode=None,
                 # Checkout's item names the sellers of an MOI chain: this store, then the franchise
                 # store that fulfils the item.
                 sellerChain=[item.seller, item.store_id])
    return shown


def totals(order: Order) -> list[dict[str, Any]]:
    return [
        {"id": "Items", "name": "Total dos Itens", "value": order.items_total, "alternativeTotals": []},
        {"id": "Discounts", "name": "Total dos Descontos", "value": -order.discount, "alternativeTotals": []},
        {"id": "Shipping", "name": "Total do Frete", "value": order.shipping_total, "alternativeTotals": []},
        {"id": "Tax", "name": "Total da Taxa", "value": order.increment, "alternativeTotals": []},
    ]


def estimate_dates(order: Order, config: Config) -> list[str | None]:
    """Each item's ``shippingEstimateDate``: fixed when the order was authorized (VTEX defines it
    "after the confirmation of the order"); None before. An order authorized by an older moisim,
    or an item a change added, has none kept: its SLA's estimate, as configured now, counted from
    the authorization."""
    authorized = order.authorized_date
    if authorized is None:
        return [None] * len(order.items)
    return [item.shipping_estimate_date or promised_date(authorized, config.slas.get(item.sla)) for item in order.items]


def logistics_info(item: Item, index: int, estimate: str | None, config: Config) -> dict[str, Any]:
    """An item's shippingData.logisticsInfo entry: its SLA, franchise store and dates."""
    sla = config.slas.get(item.sla)
    pickup = sla is not None and sla.delivery_channel == "pickup-in-point"
    return {
        "itemIndex": index, "selectedSla": item.sla, "lockTTL": "10d", "price": item.shipping_price,
        "listPrice": item.shipping_price, "sellingPrice": item.shipping_price, "deliveryWindow": item.delivery_window,
        "deliveryCompany": item.store_id, "shippingEstimate": sla.shipping_estimate if sla else None,
        "shippingEstimateDate": estimate, "slas": [], "shipsTo": [], "deliveryIds": [
            {"courierId": item.store_id, "courierName": item.store_id, "dockId": item.store_id,
             "quantity": item.quantity, "warehouseId": item.store_id, "accountCarrierName": None,
             "kitItemDetails": []}],
        "deliveryChannels": [{"id": item.delivery_channel, "stockBalance": 0}],
        "selectedDeliveryChannel": item.delivery_channel, "deliveryChannel": item.delivery_channel,
        "pickupStoreInfo": {"additionalInfo": None, "address": None, "dockId": None,
                            "friendlyName": sla.pickup_point if pickup and sla else None, "isPickupStore": pickup},
        "addressId": None, "versionId": None, "entityId": None, "polygonName": None,
        "pickupPointId": sla.pickup_point if pickup and sla else None,
        # No dock or stock times in moisim: the carrier's transit is the whole estimate.
        "transitTime": sla.shipping_estimate if sla else None,
    }


def shipping_data(order: Order, config: Config) -> dict[str, Any]:
    estimates = estimate_dates(order, config)
    return _shipping(order, [logistics_info(item, i, estimates[i], config) for i, item in enumerate(order.items)])


def _shipping(order: Order, logistics: list[Any]) -> dict[str, Any]:
    """The order's shippingData around its ``logistics`` entries."""
    raw = order.shipping_data
    selected = [address_json(a) for a in raw.get("selectedAddresses") or []]
    # The MOI guide's body selects an address by id and sends no "address"; VTEX's order always
    # has one, so the first selected address stands in for it.
    address = address_json(raw["address"]) if raw.get("address") else (selected[0] if selected else None)
    return {
        "id": "shippingData", "address": address, "logisticsInfo": logistics, "trackingHints": None,
        "selectedAddresses": selected, "contactInformation": raw.get("contactInformation") or [],
    }


# An address's fields, in the order VTEX's Orders API shows them (its Address and SelectedAddress).
ADDRESS_FIELDS = ("addressType", "receiverName", "addressId", "versionId", "entityId", "postalCode", "city", "state",
                  "country", "street", "number", "neighborhood", "complement", "reference", "geoCoordinates")


def address_json(given: Any) -> Any:
    """An address as the marketplace gave it, with VTEX's other fields present and empty: the MOI
    guide's body selects one by ``addressId`` alone, and VTEX's order shows every field."""
    if not isinstance(given, dict):
        return given
    address: dict[str, Any] = dict.fromkeys(ADDRESS_FIELDS)
    address["geoCoordinates"] = []
    address.update(given)  # what was sent stays as sent, extra fields too
    return address


def packages(order: Order) -> list[dict[str, Any]]:
    index_of = {item.id: i for i, item in reversed(list(enumerate(order.items)))}
    out = []
    for p in order.packages:
        out.append({
            "items": [{"itemIndex": index_of.get(i["id"]), "id": i["id"], "quantity": i["quantity"],
                       "price": i["price"], "description": i.get("description"), "unitMultiplier": 1.0}
                      for i in p["items"]],
            "courier": p["courier"], "invoiceNumber": p["invoiceNumber"], "invoiceValue": p["invoiceValue"],
            "invoiceUrl": p.get("invoiceUrl"), "issuanceDate": p["issuanceDate"], "trackingNumber": p["trackingNumber"],
            "invoiceKey": p.get("invoiceKey"), "trackingUrl": p["trackingUrl"], "embeddedInvoice": p.get("embeddedInvoice"),
            "type": p["type"], "courierStatus": None, "cfop": None, "restitutions": {}, "volumes": None,
            "EnableInferItems": None, "dispatchedDate": p.get("dispatchedDate"),
            "franchiseOrderId": p.get("franchiseOrderId"), "receipt": p.get("receipt"),
        })
    return out


def changes_attachment(order: Order) -> dict[str, Any] | None:
    applied = [c for c in order.changes if c["state"] == "accepted"]
    if not applied:
        return None

    def items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": r["id"], "name": r["name"], "quantity": r["quantity"], "price": r["price"],
                 "unitMultiplier": str(r["unitMultiplier"])} for r in rows]

    return {"id": "changeAttachment", "changesData": [
        {"reason": c["reason"], "discountValue": c["discountValue"], "incrementValue": c["incrementValue"],
         "itemsAdded": items(c["itemsAdded"]), "itemsRemoved": items(c["itemsRemoved"]), "receipt": c["receipt"]}
        for c in applied]}


def order_json(order: Order, config: Config) -> dict[str, Any]:
    """GET /api/oms/pvt/orders/{orderId}."""
    final = order.status in (Status.INVOICED, Status.CANCELED)
    cancellation = order.cancellation
    return {
        "orderId": order.id, "sequence": str(order.sequence), "marketplaceOrderId": order.marketplace_order_group,
        "marketplaceServicesEndpoint": order.marketplace_services_endpoint,
        "sellerOrderId": order.franchise_ids[0] if order.franchise_ids else order.id,
        "origin": ORIGIN[order.kind], "affiliateId": order.affiliate_id, "salesChannel": order.sales_channel,
        "merchantName": config.seller_name, "status": order.status, "workflowIsInError": False,
        "statusDescription": STATUS_DESCRIPTIONS.get(order.status or "", order.status),
        "value": order.value, "creationDate": iso(order.creation_date), "lastChange": iso(order.last_change),
        "orderGroup": order.order_group, "followUpEmail": order.client_profile.get("email"),
        "lastMessage": None, "hostname": config.account, "isCompleted": True, "roundingError": 0,
        "orderFormId": None, "allowCancellation": not final, "allowEdition": False, "isCheckedIn": False,
        "authorizedDate": iso(order.authorized_date),
        "invoicedDate": iso(order.entered(Status.INVOICED)),
        "cancelReason": cancellation.get("Reason") if cancellation else None,
        "checkedInPickupPointId": None,
        "totals": totals(order),
        "sellers": sellers(config),
        "clientPreferencesData": client_preferences(), "cancellationData": cancellation,
        "cancellationRequests": [order.cancellation_request] if order.cancellation_request else None,
        "taxData": None, "subscriptionData": None, "itemMetadata": item_metadata(order),
        "marketplace": {"baseURL": order.marketplace_services_endpoint, "isCertified": None, "name": order.affiliate_id},
        "storePreferencesData": store_preferences(),
        "customData": None, "commercialConditionData": None, "openTextField": order.open_text_field, "invoiceData": None,
        "changesAttachment": changes_attachment(order), "callCenterOperatorData": None,
        "packageAttachment": {"packages": packages(order)}, "paymentData": {"giftCards": [], "transactions": []},
        "shippingData": shipping_data(order, config), "ratesAndBenefitsData": rates_and_benefits(),
        "marketingData": marketing_data(order), "giftRegistryData": None,
        "clientProfileData": client_profile(order),
        "items": [item_json(item, i, order.id) for i, item in enumerate(order.items)],
        "marketplaceItems": [],
        "marketplacePaymentValue": order.marketplace_payment_value,
        "marketplaceOrderGroup": order.marketplace_order_group,
        "franchiseOrderIds": order.franchise_ids if order.kind is Kind.CHAIN else None,
        "authorizationPolicyData": [],  # no B2B authorization policies here
        "chainOrderId": order.parent_id,
        "warnings": order.warnings,
    }


def _camel_case(name: str) -> str:
    """Checkout's spelling of a key the Orders API writes in PascalCase."""
    return name[0].lower() + name[1:]


# A Brazilian store's currency format, in the Orders API's PascalCase; Checkout spells the same
# keys in camelCase.
CURRENCY_FORMAT = {"CurrencyDecimalDigits": 2, "CurrencyDecimalSeparator": ",", "CurrencyGroupSeparator": ".",
                   "CurrencyGroupSize": 3, "StartsWithCurrencySymbol": True}
CHECKOUT_CURRENCY_FORMAT = {_camel_case(k): v for k, v in CURRENCY_FORMAT.items()}


def store_preferences() -> dict[str, Any]:
    """The store's country, currency and its format, time zone: a Brazilian store, as in VTEX's
    examples."""
    return {"countryCode": "BRA", "currencyCode": "BRL", "currencyLocale": 1046, "currencySymbol": "R$",
            "timeZone": "E. South America Standard Time", "currencyFormatInfo": dict(CURRENCY_FORMAT)}


def checkout_store_preferences() -> dict[str, Any]:
    """Checkout's storePreferencesData: the same, with ``saveUserData`` and the format in camelCase."""
    return {**store_preferences(), "currencyFormatInfo": dict(CHECKOUT_CURRENCY_FORMAT), "saveUserData": False}


def client_preferences() -> dict[str, Any]:
    # The placement body carries no client preferences; VTEX's order always shows them, and the
    # store's own locale (pt-BR: currencyLocale 1046) is the one its checkout would use.
    return {"locale": "pt-BR", "optinNewsLetter": False}


CLIENT_PROFILE_FIELDS = ("email", "firstName", "lastName", "documentType", "document", "phone", "corporateName",
                         "tradeName", "corporateDocument", "stateInscription", "corporatePhone", "isCorporate",
                         "userProfileId", "userProfileVersion", "customerClass", "customerCode")


def marketing_data(order: Order) -> dict[str, Any] | None:
    """The marketingData the marketplace sent (UTM parameters, coupon, tags), in VTEX's form; null
    when it sent none, as the MOI guide's body does."""
    if order.marketing_data is None:
        return None
    return {"id": "marketingData", **order.marketing_data}


def client_profile(order: Order) -> dict[str, Any]:
    """VTEX's clientProfileData, as the marketplace sent it: each field VTEX shows, null where it sent
    none (isCorporate: false)."""
    p = order.client_profile
    profile = {"id": "clientProfileData", **{name: p.get(name) for name in CLIENT_PROFILE_FIELDS}}
    profile["isCorporate"] = bool(profile["isCorporate"])
    return profile


# itemMetadata's fields, in the Orders API's PascalCase; Checkout spells the same keys in camelCase.
ITEM_METADATA_FIELDS = ("Id", "Seller", "Name", "SkuName", "ProductId", "RefId", "Ean", "ImageUrl", "DetailUrl",
                        "AssemblyOptions")
CHECKOUT_ITEM_METADATA_FIELDS = tuple(_camel_case(k) for k in ITEM_METADATA_FIELDS)


def _metadata_values(i: Item) -> tuple[Any, ...]:
    """An item's metadata, the values in ITEM_METADATA_FIELDS' order (no EAN, image or page here)."""
    return i.id, i.seller, i.name, i.name, i.id, i.id, None, None, None, []


def item_metadata(order: Order) -> dict[str, Any]:
    return {"Items": [dict(zip(ITEM_METADATA_FIELDS, _metadata_values(i), strict=True)) for i in order.items]}


def list_entry(order: Order, config: Config) -> dict[str, Any]:
    """One entry of GET /api/oms/pvt/orders (``items`` is null there, as in VTEX)."""
    return {
        "orderId": order.id, "creationDate": iso(order.creation_date),
        "clientName": " ".join(x for x in (order.client_profile.get("firstName"), order.client_profile.get("lastName")) if x)
        or order.client_profile.get("email"),
        "items": None, "totalValue": order.value, "paymentNames": "", "status": order.status,
        "statusDescription": STATUS_DESCRIPTIONS.get(order.status or "", order.status),
        "marketPlaceOrderId": order.marketplace_order_group, "sequence": str(order.sequence),
        "salesChannel": order.sales_channel, "affiliateId": order.affiliate_id, "origin": ORIGIN[order.kind],
        "workflowInErrorState": False, "workflowInRetry": False, "lastMessageUnread": None,
        # The latest item's estimate: the day the whole order is due. VTEX's examples leave Max and Min null.
        "ShippingEstimatedDate": max((d for d in estimate_dates(order, config) if d), default=None),  # one form: ISO in UTC
        "ShippingEstimatedDateMax": None, "ShippingEstimatedDateMin": None,
        "orderIsComplete": True, "listId": None, "listType": None,
        "authorizedDate": iso(order.authorized_date), "callCenterOperatorName": None,
        "totalItems": order.total_items, "currencyCode": "BRL",
        "hostname": config.account, "invoiceOutput": [p["invoiceNumber"] for p in order.packages if p["type"] == "Output"],
        "invoiceInput": [p["invoiceNumber"] for p in order.packages if p["type"] == "Input"],
        "lastChange": iso(order.last_change), "isAllDelivered": False, "isAnyDelivered": False,
        "giftCardProviders": None, "orderFormId": None, "paymentApprovedDate": iso(order.entered(Status.PAYMENT_APPROVED)),
        "readyForHandlingDate": None, "deliveryDates": None,
    }


def list_stats(value: Figures, items: Figures) -> dict[str, Any]:
    """The ``stats`` of GET /api/oms/pvt/orders: VTEX's (Solr's) statistics of the value and of the
    units of every order that matches, not only the page, with the same figures by origin and by
    currency. moisim lists chain orders only, so the documented Fulfillment and Marketplace
    origins are there with nothing counted."""
    return {"stats": {"totalValue": _statistic(value, _facets(value)), "totalItems": _statistic(items, _facets(items))}}


def _facets(figures: Figures) -> dict[str, Any]:
    nothing = _statistic(Figures(), None)
    return {"origin": {"Fulfillment": nothing, "Marketplace": nothing, "Chain": _statistic(figures, None)},
            "currencyCode": {"BRL": _statistic(figures, None)}}


def _statistic(f: Figures, facets: dict[str, Any] | None) -> dict[str, Any]:
    n = f.count
    # The sample standard deviation, as Solr computes it (VTEX's example figures agree).
    spread = math.sqrt(max(0, n * f.sum_of_squares - f.sum * f.sum) / (n * (n - 1))) if n > 1 else 0.0
    return {"Count": n, "Max": f.greatest, "Mean": _number(f.sum / n if n else 0), "Min": f.least, "Missing": 0,
            "StdDev": _number(spread), "Sum": f.sum, "SumOfSquares": f.sum_of_squares, "Facets": facets}


def _number(x: float) -> int | float:
    """VTEX writes a whole double without a fraction ("Mean": 1, "StdDev": 0)."""
    return int(x) if float(x).is_integer() else x


class Parts:
    """The place-order response's parts that repeat from order to order (an item, its logistics
    and metadata, the totals, the store's fixed data), built as dicts: the reference form.
    ``encoded_parts.EncodedParts`` gives the same parts as JSON text kept from earlier orders."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def item(self, item: Item, index: int, order_id: str, estimate: str | None) -> tuple[Any, Any, Any]:
        """The item's three parts: Checkout's item, its logisticsInfo entry (the order's, with the
        item's id) and its itemMetadata entry (the Orders API's, with the keys in camelCase)."""
        logistics = logistics_info(item, index, estimate, self.config)
        logistics["itemId"] = item.id
        return (checkout_item_json(item, index, order_id), logistics,
                dict(zip(CHECKOUT_ITEM_METADATA_FIELDS, _metadata_values(item), strict=True)))

    def totals(self, order: Order) -> Any:
        return totals(order)

    def fixed(self, name: str) -> Any:
        """One of CHECKOUT_FIXED: the same for every order of this configuration."""
        return CHECKOUT_FIXED[name](self.config)


# The place-order response's parts that depend on the configuration alone.
CHECKOUT_FIXED: dict[str, Callable[[Config], Any]] = {
    "transactionData": lambda _: {"merchantTransactions": [], "receiverUri": None, "gatewayCallbackTemplatePath": None},
    "salesAssociateData": lambda _: {"salesAssociateId": None},
    "sellers": lambda config: [{**seller, "minimumOrderValue": None} for seller in sellers(config)],
    "ratesAndBenefitsData": lambda _: {**rates_and_benefits(), "teaser": []},
    "clientPreferencesData": lambda _: client_preferences(),
    "storePreferencesData": lambda _: checkout_store_preferences(),
}


def place_order_response(chain: Order, config: Config, parts: Parts | None = None) -> dict[str, Any]:
    """The Checkout place-order 200 shape (the Checkout API's PlaceOrder); ``orders[0].orderId`` is
    the chain order id. Its parts are the OMS order's own (``order_json``) with the fields
    Checkout's forms add, built here without the rest of that document; ``parts`` builds the
    parts that repeat from order to order (default: as dicts)."""
    parts = Parts(config) if parts is None else parts
    estimates = estimate_dates(chain, config)
    items = [parts.item(item, i, chain.id, estimates[i]) for i, item in enumerate(chain.items)]
    created = iso(chain.creation_date)
    last_change = iso(chain.last_change)
    summary = {
        "orderId": chain.id, "orderGroup": chain.order_group, "state": chain.status, "isCheckedIn": False,
        "sellerOrderId": chain.franchise_ids[0] if chain.franchise_ids else chain.id, "storeId": None,
        "checkedInPickupPointId": None, "value": chain.value,
        "items": [shown for shown, _, _ in items],
        "sellers": parts.fixed("sellers"),
        "totals": parts.totals(chain),
        "clientProfileData": {**client_profile(chain), "profileCompleteOnLoading": False,
                              "profileErrorOnLoading": False},
        "ratesAndBenefitsData": parts.fixed("ratesAndBenefitsData"),
        "shippingData": checkout_shipping_data(chain, [logistics for _, logistics, _ in items]),
        "paymentData": None, "itemMetadata": {"items": [metadata for _, _, metadata in items]},
        "salesChannel": chain.sales_channel,
        "followUpEmail": chain.client_profile.get("email"), "creationDate": created, "lastChange": last_change,
        "timeZoneCreationDate": created, "timeZoneLastChange": last_change, "orderFormCreationDate": created,
        "isCompleted": True, "hostName": config.account, "merchantName": config.seller_name, "userType": None,
        "roundingError": 0, "salesAssociateId": None,
        "clientPreferencesData": parts.fixed("clientPreferencesData"),
        "storePreferencesData": parts.fixed("storePreferencesData"),
        "marketingData": marketing_data(chain), "openTextField": chain.open_text_field,
        "giftRegistryData": None, "commercialConditionData": None, "customData": None, "invoiceData": None,
        "taxData": None, "subscriptionData": None, "hooksData": None, "changeData": None,
        "marketplaceData": None, "origin": "Chain", "affiliateId": chain.affiliate_id,
        "marketplaceOrderGroup": chain.marketplace_order_group,
        "marketplaceServicesEndpoint": chain.marketplace_services_endpoint,
        "marketplacePaymentValue": chain.marketplace_payment_value,
        # The Checkout API's schema spells it allowCancelation, its example allowCancellation: both.
        "allowCancelation": True, "allowCancellation": True, "allowEdition": False,
        "isUserDataVisible": True, "allowChangeSeller": False,
    }
    return {"orderForm": None, "transactionData": parts.fixed("transactionData"), "orders": [summary],
            "salesAssociateData": parts.fixed("salesAssociateData")}


def authorization_response(chain: Order, at: datetime, receipt: str) -> dict[str, Any]:
    """The marketplace-order-authorization 200: the receipt, and the items with the shipping dates
    the authorization fixed, in the form VTEX's own MOI client (vtex-apps/glovo-integration) reads."""
    return {
        "date": iso(at), "orderId": chain.id, "receipt": receipt, "marketplaceOrderId": chain.marketplace_order_group,
        "items": [{"id": i.id, "quantity": i.quantity, "seller": i.seller, "price": i.price} for i in chain.items],
        "shippingData": {"logisticsInfo": [
            {"itemIndex": index, "selectedSLAId": i.sla, "selectedDeliveryChannel": i.delivery_channel,
             "shippingEstimateDate": i.shipping_estimate_date}
            for index, i in enumerate(chain.items)]},
    }


def checkout_shipping_data(order: Order, logistics: list[Any]) -> dict[str, Any]:
    """The order's shippingData around Checkout's ``logistics`` entries, with what Checkout's adds:
    each address's ``isDisposable`` (true unless the marketplace said otherwise: an address a
    marketplace sends is never saved to a shopper's profile here) and ``availableAddresses``."""
    shipping = _shipping(order, logistics)
    selected = shipping["selectedAddresses"]
    address = shipping["address"]
    for shown in (address, *selected):
        if isinstance(shown, dict):
            shown.setdefault("isDisposable", True)
    shipping["availableAddresses"] = selected or ([address] if address is not None else [])
    shipping["pickupPoints"] = []  # as in VTEX's example: a pickup SLA's point is in its logisticsInfo
    return shipping


def sellers(config: Config) -> list[dict[str, Any]]:
    return [{"id": config.seller_id, "name": config.seller_name, "logo": None, "fulfillmentEndpoint": None}]


def rates_and_benefits() -> dict[str, Any]:
    return {"rateAndBenefitsIdentifiers": [], "id": "ratesAndBenefitsData"}
