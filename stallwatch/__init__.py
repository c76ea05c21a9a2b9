"""stallwatch: SLA clocks in business time and stall predictions for support tickets."""

__version__ = "0.1.0"
