"""The seed documents' own examples, byte for byte where the seed gives them."""

from __future__ import annotations

import json

# ../shared/seeds/000_c0b8926bb1dd4e3d.txt, "Place Multilevel Omnichannel Order", unchanged.
PLACE_ORDER_TEXT = """{
   "items":[
      {
         "id":"8",
         "quantity":1,
         "seller":"1",
         "price":12
      },
      {
         "id":"36",
         "quantity":1,
         "seller":"1",
         "price":120
      }
   ],
   "clientProfileData":{
      "email":"sicrano@mailinator.com"
   },
   "shippingData":{
      "attachmentId":"shippingData",
      "logisticsInfo":[
         {
            "itemIndex":0,
            "selectedSla":"Retirada (14b25e5)",
            "selectedDeliveryChannel":"pickup-in-point",
            "price":0
         },
         {
            "itemIndex":1,
            "selectedSla":"Normal",
            "selectedDeliveryChannel":"delivery",
            "price":0
         }
      ],
      "selectedAddresses":[
         {
            "addressId":"-4581767308704"
         }
      ]
   },
   "marketplacePaymentValue":1550,
   "marketplaceOrderGroup":"externalMarketplace10",
  "marketplaceServicesEndpoint":"http://service.externalmarketplace.com/api/orders?parameter=value"
}"""

# "Marketplace Order Authorization", unchanged: not valid JSON (a trailing comma in items).
AUTHORIZATION_TEXT = """{
   "items":[
      {
         "id":"8",
         "quantity":1,
         "seller":"1",
         "price":12
      },
   ],
   "marketplaceOrderGroup": "847392476",
   "authorizationReceipt":  {
        "date": "{date}",
        "receipt": "{receipt}"
    }
}"""

SEED_ORDER_ID = "MKP-externalMarketplace10-01"


def place_body(group: str = "externalMarketplace10", endpoint: str | None = None, **changes) -> dict:
    body = json.loads(PLACE_ORDER_TEXT)
    body["marketplaceOrderGroup"] = group
    if endpoint is not None:
        body["marketplaceServicesEndpoint"] = endpoint
    body.update(changes)
    return body


def authorization_body(group: str = "externalMarketplace10") -> dict:
    return {"items": [{"id": "8", "quantity": 1, "seller": "1", "price": 12}], "marketplaceOrderGroup": group,
            "authorizationReceipt": {"date": "2026-11-23T10:00:00Z", "receipt": "r-1"}}


def invoice_body(number: str = "7999972", value: int | str = 132, kind: str = "Output", **extra) -> dict:
    body = {"type": kind, "invoiceNumber": number, "invoiceValue": value, "issuanceDate": "2019-02-07T02:00:00.000Z",
            "invoiceUrl": "http://www.invoiceu.rl", "invoiceKey": "799",
            "items": [{"id": "8", "price": 12, "quantity": 1}, {"id": "36", "price": 120, "quantity": 1}]}
    body.update(extra)
    return body
