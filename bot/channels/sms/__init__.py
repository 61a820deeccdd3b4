"""The second channel: pages and fallbacks by SMS when Matrix did not reach, or did not wake, their reader."""
