"""bagscan's Qt-free engine: data, models, training, scoring, metrics and storage."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
