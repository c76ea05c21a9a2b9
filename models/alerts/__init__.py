"""Alert rules, their evaluation over SLA clocks and stall risk, and delivery."""
