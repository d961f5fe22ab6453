"""Who may call what: the role dependencies of disbursement's routes (admin reads everything, changes nothing)."""
from fastapi import Depends

from common.auth import require_roles

CITY = Depends(require_roles("city_officer"))
AUDITOR = Depends(require_roles("auditor"))
EXPERT = Depends(require_roles("expert"))
FINANCE = Depends(require_roles("finance_officer"))
CITY_READ = Depends(require_roles("city_officer", "admin"))
MONEY_READ = Depends(require_roles("finance_officer", "city_officer", "admin"))
PROJECT_READ = Depends(require_roles("city_officer", "auditor", "expert", "finance_officer", "admin"))
# the public notice: anyone with access reads published versions (drafts stay with the city)
PLAN_READ = Depends(require_roles("applicant", "district_officer", "city_officer", "auditor", "expert",
                                  "finance_officer", "admin"))
# N4.4: anyone with access may object during the notice
OBJECTORS = Depends(require_roles("applicant", "district_officer", "city_officer"))
