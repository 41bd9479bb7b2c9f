#sersync2 op=full root="/" remote="x" first=2026-11-26T10:00:00+02:00 last=2026-11-26T10:00:00.123456789-05:00
