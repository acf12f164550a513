package io.github.telecmicdr.crm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Numbers as TeleCMI writes them, to E.164 as a CRM matches contacts on them. */
class PhoneNumbersTest {

    private final PhoneNumbers india = new PhoneNumbers("IN");

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"919876543210", "9876543210", "09876543210", "+919876543210", "+91 98765 43210",
            "0091 98765 43210", "91-98765-43210", " 919876543210\n"})
    void anIndianMobileInEveryFormTeleCmiWrites(String number) {
        assertEquals("+919876543210", india.e164(number));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"02240001234", "022 4000 1234", "(022) 4000-1234", "912240001234", "+91 22 4000 1234"})
    void anIndianLandlineWithItsTrunkZeroOrCountryCode(String number) {
        assertEquals("+912240001234", india.e164(number));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "+44 20 7946 0958, +442079460958",
            "447911123456,     +447911123456",
            "+447911123456,    +447911123456",
            "00447911123456,   +447911123456",
            "+1 650 253 0000,  +16502530000",
            "16502530000,      +16502530000",
            "971501234567,     +971501234567",
    })
    void aForeignNumberWithPlusOrAsBareDigitsWithItsCountryCode(String number, String e164) {
        assertEquals(e164, india.e164(number));
    }

    /**
     * Why the default region is tried before "+digits": each of these is a valid Indian number as
     * dialled in India and ALSO a valid foreign number when read with a plus. TeleCMI is an Indian
     * carrier, so the Indian reading wins.
     */
    @Test
    void bareDigitsThatAreValidInTheDefaultRegionStayThere() {
        PhoneNumbers noRegionFirst = new PhoneNumbers("US");
        // the foreign readings really are valid, or this test proves nothing
        assertEquals("+9607123456", noRegionFirst.e164("+9607123456"), "Maldives");
        assertEquals("+18002001234", noRegionFirst.e164("18002001234"), "US toll-free");

        assertEquals("+919607123456", india.e164("9607123456"), "an Indian mobile, not a Maldivian number");
        assertEquals("+9118002001234", india.e164("18002001234"), "an Indian toll-free, not a US one");
    }

    @Test
    void theDefaultRegionDecidesNationalForms() {
        PhoneNumbers uk = new PhoneNumbers("gb");
        assertEquals("GB", uk.defaultRegion());
        assertEquals("+442079460958", uk.e164("020 7946 0958"));
        assertEquals("+447911123456", uk.e164("07911 123456"));
        assertEquals("+447911123456", uk.e164("447911123456"));
        assertEquals("+919876543210", uk.e164("919876543210"), "bare digits with India's code, read in the UK");
        assertEquals("+919876543210", uk.e164("+91 98765 43210"));
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"", "   ", "anonymous", "abc", "+", "0", "12345", "98765", "+91 12345", "0000000000",
            "99999999999999999999", "1-800-FLOWERS", "call 9876543210", "9876543210 or 9876543211",
            "sip:9876543210@telecmi", "+91 98765 43210 ext. 5", "98765\u0000 43210", "919876543210x", "++919876543210",
            "+0 9876543210", "9876543210,", "١٢٣٤٥٦٧٨٩٠"})
    void anythingElseIsNullNotAnException(String number) {
        assertNull(india.e164(number));
    }

    @Test
    void nullAndVeryLongInputAreNull() {
        assertNull(india.e164(null));
        assertNull(india.e164("9".repeat(16)));
        assertNull(india.e164("9".repeat(10_000)));
        assertNull(india.e164("+91 " + " ".repeat(100) + "9876543210"));
        assertNull(india.e164("(".repeat(1_000_000)));
    }

    @Test
    void anUnknownRegionIsRefusedWhenConfigured() {
        for (String bad : new String[] {"XX", "ZZ", "", " ", "India", "IND", "001", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PhoneNumbers(bad), String.valueOf(bad));
            assertTrue(e.getMessage().startsWith("phone.default-region must be a region code such as IN"), e.getMessage());
        }
        assertFalse(new PhoneNumbers(" us ").e164("6502530000") == null);
    }

    @Test
    void readingsKeptForRecurringNumbersStayTrueWhenTheCacheFillsAndEmpties() {
        PhoneNumbers numbers = new PhoneNumbers("IN");
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < PhoneNumbers.CACHED_READINGS + 500; i++) {
                String mobile = "98" + String.format("%08d", i);
                assertEquals("+91" + mobile, numbers.e164(mobile), mobile);
                assertNull(numbers.e164("12" + i), "12" + i);
            }
        }
        assertEquals("+919876543210", numbers.e164("91-98765-43210"));
        assertNull(numbers.e164("anonymous"));
        assertEquals("+919876543210", numbers.e164(" ".repeat(40) + "9876543210" + " ".repeat(40)), "padded past the bound, still read");
    }
}
