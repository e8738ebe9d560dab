#!/usr/bin/python3
"""booking_page.py: drives the booking page in headless Chromium through ChromeDriver (Selenium),
as a client would: log in, search, book, see it listed, move it, cancel it, make a calendar link
and read the feed behind it; or, with --scenario taken, find that the time clicked was taken
meanwhile. tests/integration/test_booking_page.c starts the
daemon and the gateway, runs this, and checks the result in the database.

Every wait is bounded (WAIT_S). Screenshots at phone and desktop width go to --screenshots.
Prints one line per step; exits 0 when every step saw what it expected, 1 otherwise."""
import argparse
import json
import os
import sys
import urllib.request

import icalendar
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 20
PHONE = (390, 844)
DESKTOP = (1280, 900)


def step(text):
    print("booking_page:", text, flush=True)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def visible(driver, element_id):
    return WebDriverWait(driver, WAIT_S).until(EC.visibility_of_element_located((By.ID, element_id)))


def text_in(driver, element_id, part):
    WebDriverWait(driver, WAIT_S).until(EC.text_to_be_present_in_element((By.ID, element_id), part))
    return driver.find_element(By.ID, element_id).text


def log_in(driver, url, email, password):
    driver.get(url)
    visible(driver, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    visible(driver, "search-section")
    text_in(driver, "news", "You are logged in")
    step("logged in")


def show_free_times(driver):
    driver.find_element(By.CSS_SELECTOR, "#search button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#slots .times button"))
    slots = driver.find_elements(By.CSS_SELECTOR, "#slots .times button")
    step(f"{len(slots)} free times shown; the first: {slots[0].get_attribute('aria-label')}")
    return slots


def screenshots(driver, folder, name, show_id=None):
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        if show_id:  # the part the picture is about, in the middle of the window
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})",
                                  driver.find_element(By.ID, show_id))
        path = os.path.join(folder, f"booking-page-{name}-{label}.png")
        driver.save_screenshot(path)
        step(f"screenshot {path}")


def book_and_cancel(driver, args):
    log_in(driver, args.url, args.email, args.password)
    slots = show_free_times(driver)
    screenshots(driver, args.screenshots, "free-times")
    slots[0].click()
    news = text_in(driver, "news", "Booked:")
    step(news)
    # a first booking without a health history asks for one
    text_in(driver, "news", "please fill in your health history")
    WebDriverWait(driver, WAIT_S).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, "#mine li button[aria-label^='Cancel']")))
    listed = driver.find_element(By.ID, "mine").text
    step("listed: " + listed.replace("\n", " | "))
    screenshots(driver, args.screenshots, "booked")
    # move it to the last free time shown
    driver.find_element(By.CSS_SELECTOR, "#mine li button[aria-label^='Move']").click()
    visible(driver, "moving")
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#slots .times button[aria-label^='Move to']"))
    targets = driver.find_elements(By.CSS_SELECTOR, "#slots .times button[aria-label^='Move to']")
    step("moving to: " + targets[-1].get_attribute("aria-label"))
    targets[-1].click()
    step(text_in(driver, "news", "Moved:"))
    cancel = WebDriverWait(driver, WAIT_S).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, "#mine li button[aria-label^='Cancel']")))
    step("listed: " + driver.find_element(By.ID, "mine").text.replace("\n", " | "))
    cancel.click()
    confirm = WebDriverWait(driver, WAIT_S).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, "#mine li button:not(.quiet)")))
    confirm.click()
    step(text_in(driver, "news", "Cancelled:"))
    text_in(driver, "mine", "No appointments booked.")
    fill_health_history(driver, args)
    check_calendar_feed(driver, args)
    return True


def fill_health_history(driver, args):
    """Fills in the health history with one red flag and saves it: the page says the therapist
    will talk it through; the test then finds version 1 with that flag in the database."""
    text_in(driver, "health-status", "You have not filled it in yet.")
    visible(driver, "conditions").send_keys("low back pain since the spring")
    driver.find_element(By.ID, "anticoagulants").click()
    driver.find_element(
        By.CSS_SELECTOR, "#red-flags input[value='RED_FLAG_CONSTANT_NIGHT_PAIN']").click()
    screenshots(driver, args.screenshots, "health-history", show_id="red-flags")
    driver.find_element(By.CSS_SELECTOR, "#intake button[type=submit]").click()
    step(text_in(driver, "news", "Your health history is saved (version 1)."))
    text_in(driver, "news", "talk it through with you")
    text_in(driver, "health-status", "Version 1")
    # the seeded client consented long ago: the page says so and offers no button
    text_in(driver, "consent-status", "You agreed to massage treatment")


def check_calendar_feed(driver, args):
    """Makes the client's calendar link on the page and reads the feed it gives with a real
    iCalendar parser: the one appointment, moved once and cancelled."""
    driver.find_element(By.ID, "make-feed").click()
    text_in(driver, "news", "calendar link is ready")
    url = visible(driver, "feed-url").get_attribute("value")
    opener = driver.find_element(By.ID, "feed-open").get_attribute("href")
    screenshots(driver, args.screenshots, "calendar-link", show_id="calendar-section")
    if not opener.startswith("webcal://") or not opener.endswith(url.split("://", 1)[1]):
        raise AssertionError(f"the calendar app link {opener} is not webcal:// of {url}")
    with urllib.request.urlopen(url, timeout=WAIT_S) as reply:
        feed = icalendar.Calendar.from_ical(reply.read())
    events = list(feed.walk("VEVENT"))
    if len(events) != 1:
        raise AssertionError(f"the feed holds {len(events)} events, not the one booked")
    event = events[0]
    if str(event["STATUS"]) != "CANCELLED" or int(event["SEQUENCE"]) != 2:
        raise AssertionError(f"the feed's event is {event['STATUS']} at SEQUENCE "
                             f"{event['SEQUENCE']}, not CANCELLED after a move and a cancel")
    step(f"calendar feed: {event['SUMMARY']}, {event['STATUS']}, SEQUENCE {event['SEQUENCE']}")


def call(url, method, token, body):
    request = urllib.request.Request(
        f"{url}/clinic.v1.{method}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=WAIT_S) as reply:
        return json.load(reply)


def taken_meanwhile(driver, args):
    log_in(driver, args.url, args.email, args.password)
    slots = show_free_times(driver)
    # the front desk books the first time shown for someone else, while the page still shows it
    location = driver.find_element(By.ID, "location").get_attribute("value")
    service = driver.find_element(By.ID, "service").get_attribute("value")
    free = call(args.url, "Scheduling/FindSlots", args.staff_token,
                {"serviceId": service, "locationId": location, "from": args.first_day + " 00:00",
                 "to": args.last_day + " 00:00", "pageSize": 1})["slots"][0]
    booked = call(args.url, "Scheduling/Book", args.staff_token,
                  {"clientId": args.other_client, "serviceId": service, "locationId": location,
                   "startTime": free["startTime"], "therapistId": free["therapistId"]})
    step(f"the desk booked {booked['startTime']} for client {args.other_client}")
    slots[0].click()
    problem = text_in(driver, "problem", "just been taken")
    step("the page said: " + problem)
    screenshots(driver, args.screenshots, "taken")
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--scenario", choices=("book", "taken"), default="book")
    parser.add_argument("--staff-token", default="")
    parser.add_argument("--other-client", default="0")
    parser.add_argument("--first-day", default="")
    parser.add_argument("--last-day", default="")
    args = parser.parse_args()
    driver = browser()
    try:
        ok = (book_and_cancel if args.scenario == "book" else taken_meanwhile)(driver, args)
    except Exception as error:  # a step that did not see what it waited for
        step(f"FAILED: {type(error).__name__}: {error}")
        try:
            step("news: " + driver.find_element(By.ID, "news").text)
            step("problem: " + driver.find_element(By.ID, "problem").text)
            driver.save_screenshot(os.path.join(args.screenshots, "booking-page-failure.png"))
        except Exception:
            pass
        ok = False
    finally:
        driver.quit()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
