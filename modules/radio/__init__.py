"""The radio plugin: network modules. Server and Client are a duplex link between two patches."""

from modular.module import Plugin

from .delay import RadioDelay
from .link import Client, Server

plugin = Plugin("radio", name="Radio", models=[Server, Client, RadioDelay])
