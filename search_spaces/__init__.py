"""Search spaces: an Optuna trial -> :class:`~nas.spec.ArchSpec`, looked up by name.

>>> from optuna.trial import FixedTrial
>>> from nas.spec import get_reference
>>> space = get_space("unet_max78000")
>>> ref = get_reference("unetmysmall")
>>> space(FixedTrial(space.params_for(ref))) == ref
True
"""

from search_spaces._bits import (
    DEFAULT_WEIGHT_BITS,
    WEIGHT_BITS_CHOICES,
    parse_weight_bits,
    validate_weight_bits,
)
from search_spaces._names import arch_digest
from search_spaces._registry import SPACES, get_space, list_spaces, register_space
from search_spaces._sample import sample_specs
from search_spaces._unet import DEFAULT_WIDTHS, UNetSpace, unet_max78000, unet_max78002

register_space(unet_max78000)
register_space(unet_max78002)

__all__ = [
    "DEFAULT_WEIGHT_BITS",
    "DEFAULT_WIDTHS",
    "WEIGHT_BITS_CHOICES",
    "SPACES",
    "UNetSpace",
    "arch_digest",
    "get_space",
    "list_spaces",
    "parse_weight_bits",
    "register_space",
    "sample_specs",
    "unet_max78000",
    "unet_max78002",
    "validate_weight_bits",
]
