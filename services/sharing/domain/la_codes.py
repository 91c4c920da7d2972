"""The three-digit local-authority codes this directory accepts.

The list is python-stdnum's (`stdnum.gb.upn`, from DfE's "New local authority codes,
January 2011"), copied here rather than read from that module's private attribute, plus
the codes created since: 838 Dorset and 839 Bournemouth, Christchurch and Poole (2019),
940 North Northamptonshire and 941 West Northamptonshire (2021), 942 Cumberland and
943 Westmorland and Furness (2023). Codes of authorities since abolished (835, 836, 837,
909, 928) stay valid, because historical returns still carry them. The directory checks
the code against this list and takes the authority's name from the caller.
"""

from __future__ import annotations

# fmt: off
STDNUM_2011_LA_CODES = frozenset(
    {
        201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 301,
        302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315,
        316, 317, 318, 319, 320, 330, 331, 332, 333, 334, 335, 336, 340, 341,
        342, 343, 344, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370,
        371, 372, 373, 380, 381, 382, 383, 384, 390, 391, 392, 393, 394, 420,
        800, 801, 802, 803, 805, 806, 807, 808, 810, 811, 812, 813, 815, 816,
        821, 822, 823, 825, 826, 830, 831, 835, 836, 837, 840, 841, 845, 846,
        850, 851, 852, 855, 856, 857, 860, 861, 865, 866, 867, 868, 869, 870,
        871, 872, 873, 874, 876, 877, 878, 879, 880, 881, 882, 883, 884, 885,
        886, 887, 888, 889, 890, 891, 892, 893, 894, 895, 896, 908, 909, 916,
        919, 921, 925, 926, 928, 929, 931, 933, 935, 936, 937, 938,
    }
)
# fmt: on

NEWER_LA_CODES = frozenset({838, 839, 940, 941, 942, 943})

KNOWN_LA_CODES: frozenset[str] = frozenset(
    f"{code:03d}" for code in STDNUM_2011_LA_CODES | NEWER_LA_CODES
)


def is_known_la_code(code: str) -> bool:
    """Whether `code` is a published three-digit LA code."""
    return code in KNOWN_LA_CODES
