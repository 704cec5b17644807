"""moisim's answers carry every field VTEX's OpenAPI files name for them.

The field names below are read off vtex/openapi-schemas at 0d207e5 (not vendored: that repository
states no license), from each object's schema and its example together: the Orders API's Get
order (``GET /api/oms/pvt/orders/{orderId}``) and the Checkout API's PlaceOrder 200 (``PUT
/api/checkout/pub/orders``), the closest documented shape of the MOI place-order response. moisim
adds fields of its own (the MOI ones, ``fulfillment``...), which these tests allow.
"""

from __future__ import annotations

from typing import Any

from tests import seeds
from tests.conftest import Sim

ORDERS_API_ORDER = {
    "affiliateId", "allowCancellation", "allowEdition", "authorizationPolicyData", "authorizedDate",
    "callCenterOperatorData", "cancelReason", "cancellationData", "changesAttachment", "checkedInPickupPointId",
    "clientPreferencesData", "clientProfileData", "commercialConditionData", "creationDate", "customData",
    "followUpEmail", "giftRegistryData", "hostname", "invoiceData", "invoicedDate", "isCheckedIn", "isCompleted",
    "itemMetadata", "items", "lastChange", "lastMessage", "marketingData", "marketplace", "marketplaceItems",
    "marketplaceOrderId", "marketplaceServicesEndpoint", "merchantName", "openTextField", "orderFormId",
    "orderGroup", "orderId", "origin", "packageAttachment", "paymentData", "ratesAndBenefitsData", "roundingError",
    "salesChannel", "sellerOrderId", "sellers", "sequence", "shippingData", "status", "statusDescription",
    "storePreferencesData", "subscriptionData", "taxData", "totals", "value", "workflowIsInError"}
# The schema names an item's prices "priceDefinitions" and its example "priceDefinition"; moisim
# shows the example's (and VTEX's own answers') name.
ORDERS_API_ITEM = {
    "additionalInfo", "assemblies", "attachmentOfferings", "attachments", "bundleItems", "callCenterOperator",
    "commission", "components", "costPrice", "detailUrl", "ean", "freightCommission", "id", "imageUrl", "isGift",
    "itemAttachment", "listPrice", "lockId", "manualPrice", "measurementUnit", "name", "offerings", "params",
    "parentAssemblyBinding", "parentItemIndex", "preSaleDate", "price", "priceDefinition", "priceTags",
    "priceValidUntil", "productId", "quantity", "refId", "rewardValue", "seller", "sellerSku", "sellingPrice",
    "serialNumbers", "shippingPrice", "tax", "taxCode", "uniqueId", "unitMultiplier"}
ORDERS_API_LOGISTICS = {
    "addressId", "deliveryChannel", "deliveryChannels", "deliveryCompany", "deliveryIds", "deliveryWindow",
    "entityId", "itemIndex", "listPrice", "lockTTL", "pickupPointId", "pickupStoreInfo", "polygonName", "price",
    "selectedDeliveryChannel", "selectedSla", "sellingPrice", "shippingEstimate", "shippingEstimateDate",
    "shipsTo", "slas", "transitTime", "versionId"}
ORDERS_API_DELIVERY_ID = {"accountCarrierName", "courierId", "courierName", "dockId", "kitItemDetails", "quantity",
                          "warehouseId"}
ORDERS_API_CLIENT = {
    "corporateDocument", "corporateName", "corporatePhone", "customerClass", "customerCode", "document",
    "documentType", "email", "firstName", "id", "isCorporate", "lastName", "phone", "stateInscription", "tradeName",
    "userProfileId", "userProfileVersion"}
ORDERS_API_STORE = {"countryCode", "currencyCode", "currencyFormatInfo", "currencyLocale", "currencySymbol", "timeZone"}

CHECKOUT_RESPONSE = {"orderForm", "orders", "salesAssociateData", "transactionData"}
CHECKOUT_ORDER = {
    "allowCancelation", "allowCancellation", "allowChangeSeller", "allowEdition", "changeData",
    "checkedInPickupPointId", "clientPreferencesData", "clientProfileData", "commercialConditionData",
    "creationDate", "customData", "followUpEmail", "giftRegistryData", "hooksData", "hostName", "invoiceData",
    "isCheckedIn", "isCompleted", "isUserDataVisible", "itemMetadata", "items", "lastChange", "marketingData",
    "merchantName", "openTextField", "orderFormCreationDate", "orderGroup", "orderId", "paymentData",
    "ratesAndBenefitsData", "roundingError", "salesAssociateId", "salesChannel", "sellerOrderId", "sellers",
    "shippingData", "state", "storeId", "storePreferencesData", "subscriptionData", "taxData",
    "timeZoneCreationDate", "timeZoneLastChange", "totals", "userType", "value"}
CHECKOUT_ITEM = {
    "additionalInfo", "assemblies", "attachmentOfferings", "attachments", "availability", "bundleItems",
    "components", "detailUrl", "ean", "id", "imageUrl", "isGift", "listPrice", "manualPrice", "manualPriceAppliedBy",
    "manufacturerCode", "measurementUnit", "modalType", "name", "offerings", "parentAssemblyBinding",
    "parentItemIndex", "preSaleDate", "price", "priceDefinition", "priceTags", "priceValidUntil",
    "productCategories", "productCategoryIds", "productId", "productRefId", "quantity", "refId", "rewardValue",
    "seller", "sellerChain", "sellingPrice", "skuName", "tax", "uniqueId", "unitMultiplier"}
CHECKOUT_SELLER = {"id", "logo", "minimumOrderValue", "name"}
CHECKOUT_CLIENT = {
    "corporateDocument", "corporateName", "corporatePhone", "customerClass", "document", "documentType", "email",
    "firstName", "isCorporate", "lastName", "phone", "profileCompleteOnLoading", "profileErrorOnLoading",
    "stateInscription", "tradeName"}
CHECKOUT_SHIPPING = {"address", "availableAddresses", "logisticsInfo", "pickupPoints", "selectedAddresses"}
CHECKOUT_LOGISTICS = {"addressId", "deliveryChannels", "itemId", "itemIndex", "selectedDeliveryChannel",
                      "selectedSla", "shipsTo", "slas"}
CHECKOUT_ADDRESS = {"addressId", "addressType", "city", "complement", "country", "geoCoordinates", "isDisposable",
                    "neighborhood", "number", "postalCode", "receiverName", "reference", "state", "street"}
CHECKOUT_ITEM_METADATA = {"assemblyOptions", "detailUrl", "ean", "id", "imageUrl", "name", "productId", "refId",
                          "seller", "skuName"}
CHECKOUT_STORE = {"countryCode", "currencyCode", "currencyFormatInfo", "currencyLocale", "currencySymbol",
                  "saveUserData", "timeZone"}


def missing(documented: set[str], shown: dict[str, Any]) -> set[str]:
    return documented - set(shown)


async def test_the_order_has_every_field_of_the_orders_api(sim: Sim) -> None:
    await sim.place()
    chain = await sim.order(seeds.SEED_ORDER_ID)
    franchises = [await sim.order(franchise_id) for franchise_id in chain["franchiseOrderIds"]]
    for order in (chain, *franchises):
        assert missing(ORDERS_API_ORDER, order) == set()
        for item in order["items"]:
            assert missing(ORDERS_API_ITEM, item) == set()
        for info in order["shippingData"]["logisticsInfo"]:
            assert missing(ORDERS_API_LOGISTICS, info) == set()
            assert missing(ORDERS_API_DELIVERY_ID, info["deliveryIds"][0]) == set()
        assert missing(ORDERS_API_CLIENT, order["clientProfileData"]) == set()
        assert missing(ORDERS_API_STORE, order["storePreferencesData"]) == set()
        assert all(total["alternativeTotals"] == [] for total in order["totals"])
    # A Brazilian store's currency format, in the Orders API's PascalCase.
    assert order["storePreferencesData"]["currencyFormatInfo"] == {
        "CurrencyDecimalDigits": 2, "CurrencyDecimalSeparator": ",", "CurrencyGroupSeparator": ".",
        "CurrencyGroupSize": 3, "StartsWithCurrencySymbol": True}
    assert order["authorizationPolicyData"] == []
    # The catalog has no brand, category or dimension: the keys are there, empty.
    assert order["items"][0]["additionalInfo"]["brandName"] is None
    assert order["items"][0]["additionalInfo"]["categories"] == []
    assert order["items"][0]["attachmentOfferings"] == []


async def test_the_place_order_response_has_every_field_of_checkouts(sim: Sim) -> None:
    placed = await sim.place()
    assert missing(CHECKOUT_RESPONSE, placed) == set()
    assert placed["salesAssociateData"] == {"salesAssociateId": None}
    summary = placed["orders"][0]
    assert missing(CHECKOUT_ORDER, summary) == set()
    for item in summary["items"]:
        assert missing(CHECKOUT_ITEM, item) == set()
    assert missing(CHECKOUT_SELLER, summary["sellers"][0]) == set()
    assert missing(CHECKOUT_CLIENT, summary["clientProfileData"]) == set()
    shipping = summary["shippingData"]
    assert missing(CHECKOUT_SHIPPING, shipping) == set()
    for info in shipping["logisticsInfo"]:
        assert missing(CHECKOUT_LOGISTICS, info) == set()
    for address in (shipping["address"], *shipping["selectedAddresses"], *shipping["availableAddresses"]):
        assert missing(CHECKOUT_ADDRESS, address) == set()
    for meta in summary["itemMetadata"]["items"]:
        assert missing(CHECKOUT_ITEM_METADATA, meta) == set()
    assert missing(CHECKOUT_STORE, summary["storePreferencesData"]) == set()
    assert "teaser" in summary["ratesAndBenefitsData"]

    # The values moisim knows, in Checkout's forms.
    assert [(i["productRefId"], i["availability"]) for i in summary["items"]] == [("8", "available"),
                                                                                  ("36", "available")]
    assert all(i["skuName"] == i["name"] for i in summary["items"])
    order = await sim.order(seeds.SEED_ORDER_ID)
    # The chain of sellers of an MOI item: this store, then the franchise store that fulfils it.
    assert [i["sellerChain"] for i in summary["items"]] == [
        ["1", i["fulfillment"]["franchiseStore"]] for i in order["items"]]
    assert [info["itemId"] for info in shipping["logisticsInfo"]] == ["8", "36"]
    assert shipping["availableAddresses"] == shipping["selectedAddresses"]
    assert shipping["address"]["isDisposable"] is True
    assert [m["id"] for m in summary["itemMetadata"]["items"]] == ["8", "36"]
    # The same metadata as the order's, whose keys the Orders API spells in PascalCase.
    assert [{k[0].upper() + k[1:]: v for k, v in m.items()} for m in summary["itemMetadata"]["items"]] == \
        order["itemMetadata"]["Items"]
    assert order["itemMetadata"]["Items"][0] == {
        "Id": "8", "Seller": "1", "Name": order["items"][0]["name"], "SkuName": order["items"][0]["name"],
        "ProductId": "8", "RefId": "8", "Ean": None, "ImageUrl": None, "DetailUrl": None, "AssemblyOptions": []}
    assert summary["storePreferencesData"]["currencyFormatInfo"] == {
        "currencyDecimalDigits": 2, "currencyDecimalSeparator": ",", "currencyGroupSeparator": ".",
        "currencyGroupSize": 3, "startsWithCurrencySymbol": True}
    assert summary["storePreferencesData"]["saveUserData"] is False
    assert (summary["hostName"], summary["merchantName"]) == (order["hostname"], order["merchantName"])
    assert summary["timeZoneLastChange"] == summary["lastChange"]
    assert summary["orderFormCreationDate"] == summary["creationDate"] == order["creationDate"]
    assert summary["allowCancelation"] is summary["allowCancellation"] is True
    assert summary["clientPreferencesData"] == order["clientPreferencesData"]


async def test_an_address_the_marketplace_marks_as_kept_stays_so(sim: Sim) -> None:
    body = seeds.place_body("kept-address")
    body["shippingData"]["address"] = {"addressId": "home", "postalCode": "22630-011", "isDisposable": False}
    _, placed = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body, expect=200)
    shipping = placed["orders"][0]["shippingData"]
    assert shipping["address"]["isDisposable"] is False
    assert shipping["selectedAddresses"][0]["isDisposable"] is True  # the seed's, sent without it
