"""The radio plugin: network modules. Server and Client are a duplex link between two patches;
RadioBroadcast, RadioClient and RadioReturn broadcast under a handle and bring the listeners' responses back in sync."""

from modular.module import Plugin

from .broadcast import RadioBroadcast, RadioClient, RadioReturn
from .delay import RadioDelay
from .link import Client, Server

plugin = Plugin("radio", name="Radio", models=[Server, Client, RadioDelay, RadioBroadcast, RadioClient, RadioReturn])
