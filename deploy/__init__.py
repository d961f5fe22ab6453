"""Operations commands that work on the whole system from outside it (backup and restore)."""
