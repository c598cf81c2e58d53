"""Who becomes champion: the gate, DeLong's paired test, the verdict, alias moves."""
