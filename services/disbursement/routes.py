"""HTTP routes of the disbursement service (thin: parse, authorise, call the service layer, shape the answer)."""
from fastapi import APIRouter

router = APIRouter()
