"""The single live socket at /ws/live/: clients subscribe to topics, the server checks each one."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .auth import socket_scope_allows
from .live import TopicRefused, groups_for_subscription
from .metrics import LIVE_SOCKETS

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
        await self.accept()
        LIVE_SOCKETS.inc()
        self.counted = True
        await self.send_json({"type": "hello", "user": self.user.get_username()})

    async def disconnect(self, code):
        if getattr(self, "counted", False):
            LIVE_SOCKETS.dec()
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
