"""What every fundflow process needs and that holds no business rule: errors, money, clock, logging, health, HTTP."""
