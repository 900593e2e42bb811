"""Search spaces: an Optuna trial -> :class:`~nas.spec.ArchSpec`, looked up by name.

>>> from optuna.trial import FixedTrial
>>> from nas.spec import get_reference
>>> space = get_space("unet_max78000")
>>> ref = get_reference("unetmysmall")
>>> space(FixedTrial(space.params_for(ref))) == ref
True
"""

from search_spaces._registry import SPACES, get_space, list_spaces, register_space
from search_spaces._unet import (
    DEFAULT_WEIGHT_BITS,
    DEFAULT_WIDTHS,
    WEIGHT_BITS_CHOICES,
    UNetSpace,
    arch_digest,
    parse_weight_bits,
    sample_specs,
    unet_max78000,
    unet_max78002,
    validate_weight_bits,
)

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
