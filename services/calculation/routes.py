"""HTTP routes of the calculation service (thin: parse, authorise, call the service layer, shape the answer)."""
from fastapi import APIRouter

router = APIRouter()
