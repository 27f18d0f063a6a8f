from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import FromQuery
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from market.accounts.domain import CurrentUser
from market.http import PageNumber, PageSize, PathId
from market.notifications.schemas import (
    NotificationOut,
    NotificationPage,
    PreferencesInput,
    PreferencesOut,
    ReadAllOut,
    WebhookInput,
    WebhookOut,
)
from market.notifications.service import NotificationService


class NotificationController(Controller):
    path = "/notifications"
    tags = ["notifications"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def inbox(
        self,
        user: CurrentUser,
        notifications: NotificationService,
        unread: FromQuery[bool | None] = None,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> NotificationPage:
        """The caller's inbox, newest first (`unread=true`: only the unread ones)."""
        return notifications.inbox(user, unread, page, page_size)

    @post("/{notification_id:int}/read", status_code=HTTP_200_OK, sync_to_thread=True)
    def mark_read(
        self, notification_id: PathId, user: CurrentUser, notifications: NotificationService
    ) -> NotificationOut:
        return notifications.mark_read(user, notification_id)

    @post("/read-all", status_code=HTTP_200_OK, sync_to_thread=True)
    def mark_all_read(self, user: CurrentUser, notifications: NotificationService) -> ReadAllOut:
        """Mark every unread notification of the caller as read; returns how many."""
        return ReadAllOut(marked=notifications.mark_all_read(user))


class NotificationSettingsController(Controller):
    path = "/me"
    tags = ["notifications"]
    security = [{"bearer": []}]

    @get("/notification-preferences", sync_to_thread=True)
    def preferences(self, user: CurrentUser, notifications: NotificationService) -> PreferencesOut:
        """The caller's rows, and what they amount to for each kind and channel."""
        return notifications.preferences(user)

    @put("/notification-preferences", sync_to_thread=True)
    def set_preferences(
        self, data: PreferencesInput, user: CurrentUser, notifications: NotificationService
    ) -> PreferencesOut:
        """Replace the caller's preferences. Each row turns one channel (inbox, email,
        webhook) on or off for one kind, or for every kind with kind '*'; a kind's own row
        wins over '*'; without a row a channel is on."""
        return notifications.set_preferences(user, data)

    @get("/webhooks", sync_to_thread=True)
    def webhooks(self, user: CurrentUser, notifications: NotificationService) -> list[WebhookOut]:
        """The caller's webhook endpoints (their secrets are shown only at creation)."""
        return notifications.webhooks(user)

    @post("/webhooks", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def add_webhook(
        self, data: WebhookInput, user: CurrentUser, notifications: NotificationService
    ) -> WebhookOut:
        """Every notification of the caller is POSTed to the URL as JSON, signed with the
        secret returned here, once: header `X-Market-Signature: t=<unix>,v1=<hex>` where
        hex is HMAC-SHA256(secret, "<t>.<body>")."""
        return notifications.add_webhook(user, data)

    @delete("/webhooks/{webhook_id:int}", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True)
    def delete_webhook(
        self, webhook_id: PathId, user: CurrentUser, notifications: NotificationService
    ) -> None:
        notifications.delete_webhook(user, webhook_id)
