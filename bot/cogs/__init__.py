"""Cogs turn interactions into plain values and render embeds, views and modals.

Every module here whose name does not start with `_` is loaded as an extension.
"""
