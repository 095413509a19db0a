"""The single live socket at /ws/live/: clients subscribe to topics, the server checks each one."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from .live import TopicRefused, access_group, groups_for_subscription
from .metrics import LIVE_SOCKETS
from .socket_auth import socket_scope_allows

MAX_TOPICS = 200


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        if not self.user or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        if not socket_scope_allows(self.scope, "read"):
            await self.close(code=4403)
            return
        self.groups_by_topic: dict[str, list[str]] = {}
        await self.channel_layer.group_add(access_group(self.user.pk), self.channel_name)
        await self.accept()
        LIVE_SOCKETS.inc()
        self.counted = True
        await self.send_json({"type": "hello", "user": self.user.get_username()})

    async def disconnect(self, code):
        if getattr(self, "counted", False):
            LIVE_SOCKETS.dec()
            await self.channel_layer.group_discard(access_group(self.user.pk), self.channel_name)
        for groups in getattr(self, "groups_by_topic", {}).values():
            for group in groups:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "error": "message must be a JSON object"})
            return
        action = content.get("action")
        topics = content.get("topics", [content.get("topic")] if content.get("topic") else [])
        if action not in ("subscribe", "unsubscribe", "ping") or not isinstance(topics, list):
            await self.send_json({"type": "error", "error": "action must be subscribe, unsubscribe or ping"})
            return
        if action == "ping":
            await self.send_json({"type": "pong"})
            return
        for topic in topics:
            if not isinstance(topic, str):
                await self.send_json({"type": "error", "error": "topics must be strings"})
                continue
            if action == "subscribe":
                await self._subscribe(topic)
            else:
                await self._unsubscribe(topic)

    async def _subscribe(self, topic: str):
        if topic in self.groups_by_topic:
            await self.send_json({"type": "subscribed", "topic": topic})
            return
        if len(self.groups_by_topic) >= MAX_TOPICS:
            await self.send_json({"type": "refused", "topic": topic, "reason": f"at most {MAX_TOPICS} topics"})
            return
        try:
            groups = await database_sync_to_async(groups_for_subscription)(self.user, topic)
        except TopicRefused as refused:
            await self.send_json({"type": "refused", "topic": topic, "reason": str(refused)})
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_by_topic[topic] = groups
        await self.send_json({"type": "subscribed", "topic": topic})

    async def _unsubscribe(self, topic: str):
        for group in self.groups_by_topic.pop(topic, []):
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_json({"type": "unsubscribed", "topic": topic})

    async def live_message(self, event):
        await self.send_json({"type": "message", "topic": event["topic"], "data": event["data"]})

    async def access_changed(self, event):
        """The user's memberships changed, or the user (an API key's) was deactivated: every topic
        is checked again as at subscription; one no longer allowed is refused, and a user gone or
        inactive is disconnected."""
        user = await database_sync_to_async(_active_user)(self.user.pk)
        if user is None:
            await self.close(code=4401)
            return
        self.user = user
        for topic, groups in list(self.groups_by_topic.items()):
            try:
                allowed = await database_sync_to_async(groups_for_subscription)(user, topic)
            except TopicRefused as refused:
                allowed = []
                await self.send_json({"type": "refused", "topic": topic, "reason": str(refused)})
            for group in set(groups) - set(allowed):
                await self.channel_layer.group_discard(group, self.channel_name)
            for group in set(allowed) - set(groups):
                await self.channel_layer.group_add(group, self.channel_name)
            if allowed:
                self.groups_by_topic[topic] = allowed
            else:
                del self.groups_by_topic[topic]


def _active_user(user_id):
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()
