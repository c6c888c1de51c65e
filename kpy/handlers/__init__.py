"""One module per Kafka API, named by its key; importing this package registers them all."""

import importlib
import pkgutil


def _register_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("api_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_register_all()
