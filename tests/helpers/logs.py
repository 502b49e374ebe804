"""What mmengine's logger says inside a block."""

import logging
from contextlib import contextmanager

from mmengine.logging import MMLogger


@contextmanager
def captured_log():
    """The messages mmengine's current logger emits inside the block."""
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
