"""Data sharing, pure (rules D5, N1, N2): rows validated one by one, files read into numbered rows, the
special-equipment aggregate's follow-up, disclosures, spot-check findings, the registry's queue flags."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from inspection.app.sharing_files import detect_format, read_rows
from inspection.app.spot_checks import SpotCheckIn, findings
from inspection.domain.sharing_events import FollowUpClosed, FollowUpOpened, SpecialEquipmentMatched
from inspection.domain.special_equipment import (
    DISCLOSURE_HEADERS,
    EQUIPMENT_HEADERS,
    Disclosure,
    DisclosureRow,
    EquipmentRow,
    SpecialEquipment,
    model_key,
)
from nrmm_kernel.errors import ValidationFailed
from registry.app.disclosures import disclosure_flags

NOW = datetime(2026, 11, 30, 2, tzinfo=UTC)
TODAY = date(2026, 11, 30)
ROW = {"registration_number": "叉11渝A0001", "equipment_kind": "叉车", "user_unit": "重庆某物流公司", "brand": "合力",
       "model": "CPCD30", "factory_serial": "hl-0001", "district": "巴南区"}


def test_a_row_is_normalised_kinds_and_districts_by_their_chinese_names():
    row = EquipmentRow.model_validate(ROW)
    assert (row.equipment_kind, row.district, row.registration_number) == ("forklift", "12", "叉11渝A0001")
    assert row.serial_key == "合力|HL-0001"
    assert EquipmentRow.model_validate({**ROW, "district": "4"}).district == "04"


@pytest.mark.parametrize("field, value, code", [
    ("district", "火星区", "unknown_district"), ("equipment_kind", "电梯", "unknown_equipment_kind"),
    ("factory_serial", "", "string_too_short"), ("registration_number", "A;B", "invalid_registration_number"),
])
def test_a_bad_row_names_its_field_and_code(field, value, code):
    with pytest.raises(ValidationError) as caught:
        EquipmentRow.model_validate({**ROW, field: value})
    assert [(e["loc"][0], e["type"]) for e in caught.value.errors()] == [(field, code)]


def test_an_uncoded_record_opens_one_follow_up_and_the_same_row_again_records_nothing():
    aggregate = SpecialEquipment("叉11渝A0001")
    row = EquipmentRow.model_validate(ROW)
    assert aggregate.receive(row, known=None, source="push", today=TODAY, now=NOW)
    assert [type(e) for e in aggregate.pending][1:] == [FollowUpOpened]
    opened = aggregate.pending[1]
    assert (opened.district, opened.contact) == ("12", "重庆某物流公司")  # rule D5: the user unit is the contact
    aggregate.mark_saved()
    assert not aggregate.receive(EquipmentRow.model_validate(ROW), known=None, source="push", today=TODAY, now=NOW)
    assert aggregate.pending == []
    changed = EquipmentRow.model_validate({**ROW, "user_unit": "另一公司"})
    assert aggregate.receive(changed, known=None, source="push", today=TODAY, now=NOW)
    assert len(aggregate.pending) == 1  # the record changed; its task stays the one task


def test_a_code_application_closes_the_task_once():
    aggregate = SpecialEquipment("叉11渝A0001")
    aggregate.receive(EquipmentRow.model_validate(ROW), known=None, source="push", today=TODAY, now=NOW)
    assert aggregate.close("M1", NOW) and not aggregate.close("M1", NOW)
    assert isinstance(aggregate.pending[-1], FollowUpClosed) and aggregate.follow_up == "closed"


def test_a_record_of_a_known_machine_is_matched_without_a_task():
    aggregate = SpecialEquipment("叉11渝A0001")
    known = {"registry_machine_id": "M1", "code": "4-N12A0001"}
    aggregate.receive(EquipmentRow.model_validate(ROW), known=known, source="push", today=TODAY, now=NOW)
    assert [type(e) for e in aggregate.pending][1:] == [SpecialEquipmentMatched]
    assert aggregate.follow_up is None


def test_a_disclosure_is_recorded_when_it_changes():
    row = DisclosureRow.model_validate({"manufacturer": "三一", "brand": "三一", "model": "SY 215C",
                                        "engine_model": "QSB7", "emission_stage": "国四", "label_number": "L1",
                                        "test_facts": {"k": "0.3"}})
    assert row.emission_stage == "4" and row.model_key == model_key("三一", "sy215c")
    disclosure = Disclosure(row.model_key)
    assert disclosure.disclose(row, source="push")
    disclosure.mark_saved()
    assert not disclosure.disclose(row, source="push")


def test_csv_xlsx_and_json_read_into_the_same_numbered_rows():
    chinese = {"登记证编号": "A1", "设备种类": "叉车", "使用单位": "U", "品牌": "合力", "型号": "M", "出厂编号": "123",
               "区县": "12"}
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(chinese))
    writer.writeheader()
    writer.writerow(chinese)
    book = Workbook()
    book.active.append(list(chinese))
    book.active.append([*list(chinese.values())[:5], 123, "12"])  # a serial typed as a number
    xlsx = io.BytesIO()
    book.save(xlsx)
    as_json = json.dumps({"records": [chinese]}, ensure_ascii=False).encode()
    for data, name, first in ((text.getvalue().encode("gb18030"), "x.csv", 2), (xlsx.getvalue(), "x.bin", 2),
                              (as_json, None, 1)):
        fmt = detect_format(name, data[:8])
        rows = list(read_rows(data, fmt, EQUIPMENT_HEADERS))
        assert rows == [(first, {"registration_number": "A1", "equipment_kind": "叉车", "user_unit": "U",
                                 "brand": "合力", "model": "M", "factory_serial": "123", "district": "12"})], fmt


def test_test_fact_columns_and_unreadable_files():
    data = "品牌,机械型号,test_k值\n三一,SY1,0.3\n".encode()
    assert list(read_rows(data, "csv", DISCLOSURE_HEADERS, facts=True)) == [
        (2, {"brand": "三一", "model": "SY1", "test_facts": {"k值": "0.3"}})]
    with pytest.raises(ValidationFailed) as caught:
        list(read_rows(b"PK\x03\x04garbage", "xlsx", EQUIPMENT_HEADERS))
    assert (caught.value.code, caught.value.field) == ("unreadable_file", "file")


def spot(**overrides) -> SpotCheckIn:
    return SpotCheckIn.model_validate({"district": "12", "place_kind": "dealer", "place_name": "某经销商",
                                       "sale_state": "sold", "manufacturer": "三一", "category": "excavator",
                                       "brand": "三一", "model": "SY215C", "factory_serial": "S1",
                                       "label_present": True, **overrides})


def test_spot_check_findings_against_the_disclosure():
    disclosed = {"engine_model": "QSB7", "emission_stage": "4", "label_number": "L1"}
    assert findings(spot(engine_model="qsb 7", emission_stage="4"), disclosed, None) == []
    kinds = [f.kind for f in findings(spot(emission_stage="3", label_present=False), disclosed, None)]
    assert kinds == ["stage_differs", "label_missing"]
    assert [f.kind for f in findings(spot(), None, None)] == ["not_disclosed"]


def test_the_queue_flags_an_engine_or_stage_the_disclosure_does_not_name():
    machine = {"brand": "三一", "model": "SY215C", "engine": {"model": "QSB7"}, "emission_stage": "4"}
    assert disclosure_flags(machine, None) == {"disclosed": False, "flagged": False, "differences": []}
    flags = disclosure_flags(machine, {"engine_model": "QSB 7", "emission_stage": "3"})
    assert flags["flagged"] and flags["differences"] == [
        {"field": "emission_stage", "applied": "4", "disclosed": "3"}]
